package dev.crossfade.devservices;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LaunchDarkly's SDK-facing services on a free loopback port, for tests of the real LaunchDarkly server SDK: the
 * streaming service ({@code GET /all}, server-sent events: a {@code put} of every flag on connect, then a {@code patch}
 * or {@code delete} for each change), the polling service ({@code GET /sdk/latest-all}) and the events service
 * ({@code POST /bulk} and {@code /diagnostic}), and a flag update through the REST API
 * ({@code PATCH /api/v2/flags/<project>/<key>}, JSON Patch of a flag's {@code on} and {@code fallthrough}), each under {@link #uri()}, as a Relay Proxy serves them. Every request
 * must carry the SDK key in {@code Authorization}; others get 401, which the SDK takes as final.
 *
 * <p>Tests change flags with {@link #setFlag} and {@link #deleteFlag} (pushed to every open stream at once), cut the
 * streams with {@link #dropStreams()} so the SDK reconnects, stop answering with {@link #pause()}, and read what the
 * SDK posted with {@link #events()} and {@link #awaitEvents}. Flags are LaunchDarkly's flag JSON, as in a flags file;
 * versions are kept rising here, since the SDK ignores an update that is not newer than what it holds.
 *
 * <pre>{@code
 * try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder().flag("crossfade-kill-switch", json).build().start()) {
 *     LDConfig config = new LDConfig.Builder()
 *             .serviceEndpoints(Components.serviceEndpoints().relayProxy(ld.uri())).build();
 *     ld.setFlag("crossfade-kill-switch", onJson);   // a patch on every open stream
 * }
 * }</pre>
 */
public final class LocalLaunchDarkly implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalLaunchDarkly.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The key of a service built without {@link Builder#sdkKey}; shaped like a real one, which it is not. */
    public static final String DEFAULT_SDK_KEY = "sdk-00000000-0000-4000-8000-000000000000";
    /** The REST API token of a service built without {@link Builder#apiToken}. */
    public static final String DEFAULT_API_TOKEN = "api-00000000-0000-4000-8000-000000000000";

    private final String sdkKey;
    private final Duration heartbeat;
    private final Object lock = new Object();
    /** Flag JSON by key, as the SDK would get it now. Guarded by lock. */
    private final Map<String, ObjectNode> flags = new LinkedHashMap<>();
    /** Last version given to each key, deleted ones included, so versions only rise. Guarded by lock. */
    private final Map<String, Integer> versions = new LinkedHashMap<>();

    private final Set<SseStream> streams = ConcurrentHashMap.newKeySet();
    /** Every event posted to /bulk, in order; guarded by itself. */
    private final List<JsonNode> events = new ArrayList<>();

    private final List<JsonNode> diagnostics = new ArrayList<>();
    private final AtomicInteger streamsOpened = new AtomicInteger();
    private final AtomicInteger unauthorized = new AtomicInteger();
    private final AtomicInteger restPatches = new AtomicInteger();
    private final String apiToken;
    private ExecutorService executor;
    private HttpServer server;
    private int port;
    private boolean paused;
    private boolean closed;

    private LocalLaunchDarkly(Builder b) {
        this.sdkKey = b.sdkKey;
        this.heartbeat = b.heartbeat;
        this.apiToken = b.apiToken;
        b.flags.forEach(this::store);
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts listening on a free loopback port (the same one again after {@link #pause()}). Does nothing if already
     * listening.
     *
     * @return this, for chaining
     */
    public synchronized LocalLaunchDarkly start() {
        if (closed) {
            throw new IllegalStateException("LocalLaunchDarkly is closed");
        }
        if (server != null) {
            return this;
        }
        if (executor == null) {
            AtomicInteger n = new AtomicInteger();
            executor = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "local-launchdarkly-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            });
        }
        server = bind();
        port = server.getAddress().getPort();
        server.createContext("/all", this::stream);
        server.createContext("/sdk/latest-all", this::poll);
        server.createContext("/bulk", x -> receive(x, events));
        server.createContext("/diagnostic", x -> receive(x, diagnostics));
        server.createContext("/api/v2/flags/", this::restPatch);
        server.setExecutor(executor);
        server.start();
        paused = false;
        LOG.info("LocalLaunchDarkly listening at {}", uri());
        return this;
    }

    private HttpServer bind() {
        InetAddress loopback = InetAddress.getLoopbackAddress();
        IOException last = null;
        // Again after pause(): the port was just closed, and a connection the SDK made may briefly hold it.
        for (int attempt = 0; attempt < 50; attempt++) {
            try {
                return HttpServer.create(new InetSocketAddress(loopback, port), 64);
            } catch (BindException e) {
                last = e;
                sleep(Duration.ofMillis(100));
            } catch (IOException e) {
                throw new UncheckedIOException("LocalLaunchDarkly cannot listen on port " + port, e);
            }
        }
        throw new UncheckedIOException("LocalLaunchDarkly cannot listen on port " + port + " again", last);
    }

    /** The base URI of all three services (streaming, polling, events), as for a Relay Proxy. */
    public synchronized URI uri() {
        if (port == 0) {
            throw new IllegalStateException("uri() before start()");
        }
        return URI.create("http://" + InetAddress.getLoopbackAddress().getHostAddress() + ":" + port);
    }

    public String sdkKey() {
        return sdkKey;
    }

    /**
     * Creates or replaces a flag and pushes it to every open stream as a {@code patch}. {@code json} is LaunchDarkly's
     * flag JSON; its {@code key} is set to {@code key} and its {@code version} raised above any the key had.
     */
    public void setFlag(String key, String json) {
        JsonNode flag;
        try {
            flag = JSON.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException("flag " + key + " is not JSON: " + e.getMessage(), e);
        }
        if (!(flag instanceof ObjectNode)) {
            throw new IllegalArgumentException("flag " + key + " is not a JSON object");
        }
        synchronized (lock) {
            ObjectNode stored = store(key, (ObjectNode) flag);
            ObjectNode patch = JSON.createObjectNode().put("path", "/flags/" + key);
            patch.set("data", stored);
            push("patch", patch);
        }
    }

    /** Removes a flag and pushes a {@code delete} with a newer version to every open stream. */
    public void deleteFlag(String key) {
        synchronized (lock) {
            int version = versions.getOrDefault(key, 0) + 1;
            versions.put(key, version);
            flags.remove(key);
            push("delete", JSON.createObjectNode().put("path", "/flags/" + key).put("version", version));
        }
    }

    private ObjectNode store(String key, ObjectNode flag) {
        synchronized (lock) {
            ObjectNode f = flag.deepCopy();
            f.put("key", key);
            int version = Math.max(f.path("version").asInt(0), versions.getOrDefault(key, 0) + 1);
            f.put("version", version);
            versions.put(key, version);
            flags.put(key, f);
            return f;
        }
    }

    private void push(String event, JsonNode data) {
        String text = write(data);
        for (SseStream s : streams) {
            s.send(event, text);
        }
    }

    /**
     * Ends every open stream, as a load balancer or a network blip would; the SDK keeps its flags and reconnects
     * after its retry delay, getting a fresh {@code put}.
     */
    public void dropStreams() {
        for (SseStream s : streams) {
            s.end();
        }
    }

    /**
     * Ends every open stream and stops listening, so connections are refused until {@link #resume()}, which listens on
     * the same port again. Posted events are kept.
     */
    public synchronized void pause() {
        if (server == null) {
            throw new IllegalStateException("cannot pause: not started");
        }
        if (paused) {
            return;
        }
        dropStreams();
        server.stop(0);
        server = null;
        paused = true;
        LOG.info("LocalLaunchDarkly at port {} paused: refusing connections", port);
    }

    /** Listens again after {@link #pause()}; does nothing if not paused. */
    public synchronized void resume() {
        if (paused) {
            start();
        }
    }

    public synchronized boolean isPaused() {
        return paused;
    }

    /** Streams open right now. */
    public int openStreams() {
        return streams.size();
    }

    /** Streams opened since start, with the right key: the first connection and every reconnection. */
    public int streamsOpened() {
        return streamsOpened.get();
    }

    /** Requests refused for a missing or wrong SDK key. */
    public int unauthorizedRequests() {
        return unauthorized.get();
    }

    /** Every analytics event posted so far (the elements of each {@code /bulk} payload), oldest first. */
    public List<JsonNode> events() {
        synchronized (events) {
            return List.copyOf(events);
        }
    }

    /** Every diagnostic event posted so far, oldest first. */
    public List<JsonNode> diagnostics() {
        synchronized (diagnostics) {
            return List.copyOf(diagnostics);
        }
    }

    /**
     * Waits until the events posted so far satisfy {@code until}, and returns them.
     *
     * @throws AssertionError if they do not within {@code timeout}, with a count of what was posted
     */
    public List<JsonNode> awaitEvents(Duration timeout, Predicate<List<JsonNode>> until) {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (events) {
            while (true) {
                List<JsonNode> now = List.copyOf(events);
                if (until.test(now)) {
                    return now;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("events posted to LocalLaunchDarkly did not reach the expected state in "
                            + timeout + " (" + now.size() + " events posted)");
                }
                try {
                    events.wait(Math.max(1, left / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DevServiceException("interrupted while waiting for events", e);
                }
            }
        }
    }

    /** Forgets every posted event and diagnostic event. */
    public void clearEvents() {
        synchronized (events) {
            events.clear();
        }
        synchronized (diagnostics) {
            diagnostics.clear();
        }
    }

    /** Stops listening and ends every stream. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        dropStreams();
        if (server != null) {
            server.stop(0);
            server = null;
        }
        if (executor != null) {
            executor.shutdownNow();
        }
    }

    @Override
    public synchronized String toString() {
        return "LocalLaunchDarkly[" + (port == 0 ? "not started" : uri()) + (paused ? ", paused" : "") + "]";
    }

    /** The REST API token {@code PATCH /api/v2/flags/<project>/<key>} wants in {@code Authorization}. */
    public String apiToken() {
        return apiToken;
    }

    /** The flag as served now, or null. */
    public JsonNode flag(String key) {
        synchronized (lock) {
            ObjectNode f = flags.get(key);
            return f == null ? null : f.deepCopy();
        }
    }

    /** Flag updates received through the REST API. */
    public int restPatches() {
        return restPatches.get();
    }

    // ---- the services ----

    /**
     * A minimal slice of LaunchDarkly's REST API: {@code PATCH /api/v2/flags/<project>/<key>} with a JSON Patch whose
     * operations replace {@code /environments/<env>/on} or {@code /environments/<env>/fallthrough} (one environment
     * here, so the name is not checked); the flag is updated and pushed to every stream as a {@code patch}.
     */
    private void restPatch(HttpExchange x) throws IOException {
        if (!"PATCH".equals(x.getRequestMethod())) {
            respond(x, 405, "");
            return;
        }
        if (!apiToken.equals(x.getRequestHeaders().getFirst("Authorization"))) {
            unauthorized.incrementAndGet();
            respond(x, 401, "{\"message\":\"invalid access token\"}");
            return;
        }
        String[] parts = x.getRequestURI().getPath().split("/");
        // "", api, v2, flags, project, key
        if (parts.length != 6) {
            respond(x, 404, "");
            return;
        }
        String key = parts[5];
        JsonNode ops;
        try (InputStream in = x.getRequestBody()) {
            ops = JSON.readTree(in);
        }
        synchronized (lock) {
            ObjectNode flag = flags.get(key);
            if (flag == null) {
                respond(x, 404, "{\"message\":\"unknown flag\"}");
                return;
            }
            ObjectNode f = flag.deepCopy();
            for (JsonNode op : ops) {
                String[] path = op.path("path").asText().split("/");
                if (!"replace".equals(op.path("op").asText()) || path.length != 4 || !"environments".equals(path[1])) {
                    respond(x, 400, "{\"message\":\"unsupported patch\"}");
                    return;
                }
                f.set(path[3], op.path("value"));
            }
            f.put("version", versions.getOrDefault(key, 0) + 1);
            ObjectNode stored = store(key, f);
            restPatches.incrementAndGet();
            ObjectNode patch = JSON.createObjectNode().put("path", "/flags/" + key);
            patch.set("data", stored);
            push("patch", patch);
        }
        respond(x, 200, "{}");
    }

    private boolean authorized(HttpExchange x) throws IOException {
        if (sdkKey.equals(x.getRequestHeaders().getFirst("Authorization"))) {
            return true;
        }
        unauthorized.incrementAndGet();
        respond(x, 401, "");
        return false;
    }

    private void stream(HttpExchange x) throws IOException {
        if (!authorized(x)) {
            return;
        }
        if (!"GET".equals(x.getRequestMethod())
                || !"/all".equals(x.getRequestURI().getPath())) {
            respond(x, 404, "");
            return;
        }
        SseStream s = new SseStream(x, heartbeat);
        String put;
        // Registered with the put's snapshot in one step: a change is either in the put or pushed after it.
        synchronized (lock) {
            ObjectNode msg = JSON.createObjectNode().put("path", "/");
            msg.set("data", allData());
            put = write(msg);
            streams.add(s);
        }
        streamsOpened.incrementAndGet();
        try {
            s.run("put", put);
        } finally {
            streams.remove(s);
        }
    }

    private void poll(HttpExchange x) throws IOException {
        if (!authorized(x)) {
            return;
        }
        String body;
        synchronized (lock) {
            body = write(allData());
        }
        x.getResponseHeaders().set("Content-Type", "application/json");
        respond(x, 200, body);
    }

    private ObjectNode allData() {
        ObjectNode data = JSON.createObjectNode();
        ObjectNode f = data.putObject("flags");
        flags.forEach(f::set);
        data.putObject("segments");
        return data;
    }

    private void receive(HttpExchange x, List<JsonNode> into) throws IOException {
        if (!authorized(x)) {
            return;
        }
        if (!"POST".equals(x.getRequestMethod())) {
            respond(x, 405, "");
            return;
        }
        JsonNode body;
        try (InputStream in = "gzip".equalsIgnoreCase(x.getRequestHeaders().getFirst("Content-Encoding"))
                ? new GZIPInputStream(x.getRequestBody())
                : x.getRequestBody()) {
            body = JSON.readTree(in);
        } catch (IOException e) {
            respond(x, 400, "");
            return;
        }
        synchronized (into) {
            if (body != null && body.isArray()) {
                body.forEach(into::add);
            } else if (body != null) {
                into.add(body);
            }
            into.notifyAll();
        }
        respond(x, 202, "");
    }

    private static void respond(HttpExchange x, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            x.getResponseBody().write(bytes);
        }
        x.close();
    }

    private static String write(JsonNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted", e);
        }
    }

    /** Configuration for {@link LocalLaunchDarkly}. */
    public static final class Builder {
        private String sdkKey = DEFAULT_SDK_KEY;
        private Duration heartbeat = Duration.ofSeconds(30);
        private String apiToken = DEFAULT_API_TOKEN;
        private final Map<String, ObjectNode> flags = new LinkedHashMap<>();

        private Builder() {}

        /** The only token the REST API accepts; {@link #DEFAULT_API_TOKEN} unless set. */
        public Builder apiToken(String apiToken) {
            if (apiToken == null || apiToken.isBlank()) {
                throw new IllegalArgumentException("apiToken is empty");
            }
            this.apiToken = apiToken;
            return this;
        }

        /** The only key accepted in {@code Authorization}; {@link #DEFAULT_SDK_KEY} unless set. */
        public Builder sdkKey(String sdkKey) {
            if (sdkKey == null || sdkKey.isBlank()) {
                throw new IllegalArgumentException("sdkKey is empty");
            }
            this.sdkKey = sdkKey;
            return this;
        }

        /** How often an idle stream gets a comment line, as LaunchDarkly sends to keep connections alive. */
        public Builder heartbeat(Duration heartbeat) {
            if (heartbeat == null || heartbeat.isNegative() || heartbeat.isZero()) {
                throw new IllegalArgumentException("heartbeat must be positive, got " + heartbeat);
            }
            this.heartbeat = heartbeat;
            return this;
        }

        /** A flag served from the start, in LaunchDarkly's flag JSON. */
        public Builder flag(String key, String json) {
            Objects.requireNonNull(key, "key");
            try {
                JsonNode f = JSON.readTree(json);
                if (!(f instanceof ObjectNode)) {
                    throw new IllegalArgumentException("flag " + key + " is not a JSON object");
                }
                flags.put(key, (ObjectNode) f);
            } catch (IOException e) {
                throw new IllegalArgumentException("flag " + key + " is not JSON: " + e.getMessage(), e);
            }
            return this;
        }

        public LocalLaunchDarkly build() {
            return new LocalLaunchDarkly(this);
        }
    }
}
