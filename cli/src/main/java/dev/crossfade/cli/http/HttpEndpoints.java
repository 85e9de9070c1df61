package dev.crossfade.cli.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.crossfade.config.Redaction;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP side of a {@code crossfade work} process: {@code /metrics} (Prometheus), {@code /health} (with
 * {@code /health/live}, {@code /health/ready} and {@code /health/<backend>}), the dashboard at {@code /} and its JSON
 * API. Bound to localhost by default; changing flags needs the configured token, and without one the dashboard is
 * read-only. Uses the JDK's built-in server: a few small endpoints do not justify a web framework.
 *
 * <p>Every answer comes from memory: health from the node's background checks, metrics from a scrape taken on a
 * thread of its own ({@link ScrapeCache}), so a hung server can never hold up the two request threads.
 */
public final class HttpEndpoints implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(HttpEndpoints.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final ScrapeCache metrics;
    private final StatusSource status;
    private final String token;

    /**
     * Starts serving.
     *
     * @param token flag-change token, or null for a read-only dashboard
     */
    public HttpEndpoints(String bind, int port, PrometheusMeterRegistry prometheus, StatusSource status, String token)
            throws IOException {
        this.metrics = new ScrapeCache(prometheus::scrape);
        this.status = status;
        this.token = token == null || token.isBlank() ? null : token;
        this.server = HttpServer.create(new InetSocketAddress(bind, port), 0);
        server.setExecutor(Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "crossfade-http");
            t.setDaemon(true);
            return t;
        }));
        server.createContext("/metrics", this::metrics);
        server.createContext("/health", this::health);
        server.createContext("/api/status", this::apiStatus);
        server.createContext("/api/flags", this::apiFlags);
        server.createContext("/api/ramp", this::apiRamp);
        server.createContext("/api/shadow-report", ex -> send(ex, 200, "application/json", status.shadowReportJson()));
        server.createContext("/", this::dashboard);
        server.start();
        log.info(
                "metrics, health and dashboard on http://{}:{}/ (flag changes {})",
                bind,
                port(),
                this.token == null ? "disabled: no http.token set" : "need the http.token");
    }

    /** The bound port (useful with port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void metrics(HttpExchange ex) throws IOException {
        ScrapeCache.Scrape last = metrics.last();
        if (last == null) {
            send(ex, 503, "text/plain", "metrics not scraped yet");
        } else if (last.ageMs() > ScrapeCache.STALE_AFTER.toMillis()) {
            // Prometheus should see a failed scrape, not old numbers presented as current.
            send(ex, 503, "text/plain", "metrics snapshot is " + last.ageMs() + " ms old: the scraper is stuck");
        } else {
            send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", last.text());
        }
    }

    /**
     * {@code /health}: everything, 200 when ready. {@code /health/live}: 200 while the process's own checks run (a
     * server being down does not make the process dead). {@code /health/ready}: 200 when every backend answers.
     * {@code /health/redis}, {@code /health/kafka}: that backend alone.
     */
    @SuppressWarnings("unchecked")
    private void health(HttpExchange ex) throws IOException {
        Map<String, Object> h = status.health();
        String path = ex.getRequestURI().getPath().replaceAll("/+$", "");
        Map<String, Object> backends = (Map<String, Object>) h.getOrDefault("backends", Map.of());
        switch (path) {
            case "/health" ->
                send(ex, "UP".equals(h.get("status")) ? 200 : 503, "application/json", JSON.writeValueAsString(h));
            case "/health/live" -> probe(ex, Boolean.TRUE.equals(h.get("live")), h);
            case "/health/ready" -> probe(ex, Boolean.TRUE.equals(h.get("ready")), h);
            default -> {
                Object one = backends.get(path.substring("/health/".length()));
                if (!path.startsWith("/health/") || one == null) {
                    send(
                            ex,
                            404,
                            "text/plain",
                            "not found: use /health, /health/live, /health/ready or /health/"
                                    + String.join("|", backends.keySet()));
                    return;
                }
                Map<String, Object> b = (Map<String, Object>) one;
                send(
                        ex,
                        Boolean.TRUE.equals(b.get("ready")) ? 200 : 503,
                        "application/json",
                        JSON.writeValueAsString(b));
            }
        }
    }

    private static void probe(HttpExchange ex, boolean ok, Map<String, Object> h) throws IOException {
        Map<String, Object> body = new java.util.LinkedHashMap<>();
        body.put("status", ok ? "UP" : "DOWN");
        body.put("backends", h.get("backends"));
        send(ex, ok ? 200 : 503, "application/json", JSON.writeValueAsString(body));
    }

    private void apiStatus(HttpExchange ex) throws IOException {
        Map<String, Object> snapshot = new java.util.LinkedHashMap<>(status.snapshot());
        snapshot.put("flagChangesEnabled", token != null);
        send(ex, 200, "application/json", JSON.writeValueAsString(snapshot));
    }

    /** Whether a flag-changing request may go ahead; answers it when not. */
    private boolean authorised(HttpExchange ex) throws IOException {
        if (!"POST".equals(ex.getRequestMethod())) {
            send(ex, 405, "text/plain", "POST only");
            return false;
        }
        if (token == null) {
            send(ex, 403, "text/plain", "flag changes are disabled: start the worker with http.token set");
            return false;
        }
        String auth = ex.getRequestHeaders().getFirst("Authorization");
        if (auth == null
                || !MessageDigest.isEqual(
                        ("Bearer " + token).getBytes(StandardCharsets.UTF_8), auth.getBytes(StandardCharsets.UTF_8))) {
            send(ex, 403, "text/plain", "wrong or missing token");
            return false;
        }
        return true;
    }

    /** {@code POST /api/ramp} with {@code {"action": "start"|"stop"|"clear"}}: the guarded rollout, as the command. */
    private void apiRamp(HttpExchange ex) throws IOException {
        if (!authorised(ex)) {
            return;
        }
        try (InputStream in = ex.getRequestBody()) {
            String action = JSON.readTree(in).path("action").asText("");
            if (!java.util.List.of("start", "stop", "clear").contains(action)) {
                send(ex, 400, "text/plain", "action must be start, stop or clear");
                return;
            }
            status.ramp(action);
            log.info("ramp {} from the dashboard", action);
            send(ex, 200, "application/json", "{\"ok\":true}");
        } catch (RuntimeException | IOException e) {
            send(ex, 409, "text/plain", Redaction.redact(String.valueOf(e.getMessage())));
        }
    }

    private void apiFlags(HttpExchange ex) throws IOException {
        if (!authorised(ex)) {
            return;
        }
        try (InputStream in = ex.getRequestBody()) {
            JsonNode body = JSON.readTree(in);
            Double kafka =
                    body.hasNonNull("kafkaPercent") ? body.get("kafkaPercent").asDouble() : null;
            Boolean kill =
                    body.hasNonNull("killSwitch") ? body.get("killSwitch").asBoolean() : null;
            Double shadow =
                    body.hasNonNull("shadowPercent") ? body.get("shadowPercent").asDouble() : null;
            status.changeFlags(kafka, kill, shadow);
            log.info("flags changed from the dashboard: kafka={} kill switch={} shadow={}", kafka, kill, shadow);
            send(ex, 200, "application/json", "{\"ok\":true}");
        } catch (IllegalArgumentException | IllegalStateException | IOException e) {
            send(ex, 400, "text/plain", Redaction.redact(String.valueOf(e.getMessage())));
        }
    }

    private void dashboard(HttpExchange ex) throws IOException {
        if (!"/".equals(ex.getRequestURI().getPath())) {
            send(ex, 404, "text/plain", "not found");
            return;
        }
        try (InputStream in = HttpEndpoints.class.getResourceAsStream("dashboard.html")) {
            send(ex, 200, "text/html; charset=utf-8", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.getResponseHeaders().set("Cache-Control", "no-store");
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        metrics.close();
    }
}
