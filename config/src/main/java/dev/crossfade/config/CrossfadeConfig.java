package dev.crossfade.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Crossfade's configuration: one YAML file plus environment variables (which win), every key listed in
 * {@link Setting#ALL}. Immutable. Loading validates every value and fails with a {@link ConfigException}: one line
 * naming the key, the fix and where the bad value was set (the file or the environment variable). Values of secret
 * settings, and the passwords in URLs, are handed to {@link Redaction} before anything can echo them.
 */
public final class CrossfadeConfig {
    private static final Pattern DURATION = Pattern.compile("(\\d{1,12})(ms|s|m|h)");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]+");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9._-]+):(\\d{1,5})");
    private static final Pattern CLASS_NAME =
            Pattern.compile("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*");
    /** What {@link #isQueueName} checks, for messages. */
    public static final String QUEUE_RULE = "queue names may use only letters, digits, '.', '_' and '-' (and must "
            + "not end in .dlq or .shadow, or contain .delay.)";

    /** Durations that may be zero ("do not wait"); every other one must be positive. */
    private static final List<String> ZERO_DURATION = List.of("flags.start-wait", "workers.shutdown-timeout");
    /** The longest duration any setting takes: longer ones are typos, and overflow the clients' millisecond ints. */
    private static final Duration MAX_DURATION = Duration.ofDays(24);
    /** Below this a heartbeat TTL is shorter than a GC pause or a busy host's scheduling hiccup. */
    private static final Duration MIN_HEARTBEAT_TTL = Duration.ofSeconds(2);

    private final Map<String, String> values;
    private final Map<String, String> sources;
    private final String origin;
    /** Put before a key in messages: "" for the command, "crossfade." for Spring properties. */
    private final String prefix;

    private CrossfadeConfig(Map<String, String> values, Map<String, String> sources, String origin, String prefix) {
        this.values = values;
        this.sources = sources;
        this.origin = origin;
        this.prefix = prefix;
    }

    /** Defaults only. */
    public static CrossfadeConfig defaults() {
        return load(null, Map.of());
    }

    /**
     * Loads {@code file} (may be null: defaults) and applies environment overrides.
     *
     * @throws ConfigException naming the key and the fix
     */
    public static CrossfadeConfig load(Path file, Map<String, String> env) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        for (Setting s : Setting.ALL) {
            values.put(s.key(), s.defaultValue());
        }
        String origin = "defaults";
        // Secrets first, so that no message below, however it fails, can echo one.
        for (Setting s : Setting.ALL) {
            remember(s, env.get(s.env()));
        }
        Redaction.remember(env.get("LD_SDK_KEY"));
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new ConfigException("--config", "file " + file + " does not exist; create it or drop --config");
            }
            readYaml(file, values, sources);
            origin = file.toString();
        }
        for (Setting s : Setting.ALL) {
            String v = env.get(s.env());
            if (v != null) {
                values.put(s.key(), v);
                sources.put(s.key(), s.env());
            }
        }
        if (env.get("LD_SDK_KEY") != null
                && env.get(Setting.find("flags.sdk-key").env()) == null) {
            values.put("flags.sdk-key", env.get("LD_SDK_KEY"));
            sources.put("flags.sdk-key", "LD_SDK_KEY");
        }
        CrossfadeConfig c = new CrossfadeConfig(values, sources, origin, "");
        c.validate();
        return c;
    }

    /**
     * Values read elsewhere, such as the Spring Boot starter's {@code crossfade.*} properties: the same defaults and
     * the same checks as {@link #load}. A key that is not a setting fails like one in the YAML file.
     *
     * @param set     values by key (as in {@link Setting#ALL}); unset keys take their defaults
     * @param sources where each value was set, for messages (may lack keys)
     * @param prefix  put before every key in messages, e.g. {@code "crossfade."}
     * @param origin  what {@link #origin()} says
     * @throws ConfigException naming the key (with {@code prefix}) and the fix
     */
    public static CrossfadeConfig of(
            Map<String, String> set, Map<String, String> sources, String prefix, String origin) {
        for (String key : set.keySet()) {
            Setting s = Setting.find(key);
            if (s == null) {
                throw unknownKey(prefix, key, sources.get(key));
            }
            remember(s, set.get(key));
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Setting s : Setting.ALL) {
            values.put(s.key(), set.containsKey(s.key()) ? set.get(s.key()) : s.defaultValue());
        }
        Map<String, String> where = new LinkedHashMap<>(sources);
        where.keySet().retainAll(set.keySet());
        CrossfadeConfig c = new CrossfadeConfig(values, where, origin, prefix);
        c.validate();
        return c;
    }

    /** The error for a key that is no setting, with the nearest one when it looks like a typo. */
    public static ConfigException unknownKey(String prefix, String key, String source) {
        return new ConfigException(
                prefix + key,
                "unknown key" + suggestion(key, prefix) + "; see `crossfade config " + "keys`"
                        + (source == null ? "" : " (" + source + ")"));
    }

    private static void remember(Setting s, String value) {
        if (s.secret()) {
            Redaction.remember(value);
        } else if (s.type() == Setting.Type.URL) {
            Redaction.rememberUrl(value);
        }
    }

    private static void readYaml(Path file, Map<String, String> values, Map<String, String> sources) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (IOException e) {
            String msg = e.getMessage() == null
                    ? e.toString()
                    : e.getMessage().lines().findFirst().orElse("");
            throw new ConfigException(
                    file.toString(), "not valid YAML (" + Redaction.redact(msg) + "); fix the syntax");
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return;
        }
        if (!root.isObject()) {
            throw new ConfigException(file.toString(), "must be a YAML mapping of sections (redis, kafka, flags, ...)");
        }
        Map<String, JsonNode> leaves = new LinkedHashMap<>();
        flatten("", root, leaves, file.getFileName().toString());
        // Remember every secret of the file before any value is checked.
        leaves.forEach((key, v) -> remember(Setting.find(key), v.isValueNode() ? v.asText() : null));
        leaves.forEach((key, v) -> {
            Setting s = Setting.find(key);
            String where = "in " + file.getFileName();
            if (v.isArray()) {
                if (s.type() != Setting.Type.LIST) {
                    throw new ConfigException(
                            key, "takes one value, not a list" + (s.secret() ? "" : ", got " + v) + " (" + where + ")");
                }
                List<String> items = new ArrayList<>();
                for (JsonNode i : v) {
                    if (!i.isValueNode() || i.isNull()) {
                        throw new ConfigException(
                                key, "list items must be plain values, got " + i + " (" + where + ")");
                    }
                    items.add(i.asText());
                }
                values.put(key, String.join(",", items));
            } else if (v.isNull()) {
                if (s.defaultValue() != null) {
                    throw new ConfigException(
                            key,
                            "has no value; give one or remove the line to use the default '" + s.defaultValue() + "' ("
                                    + where + ")");
                }
                values.put(key, null);
            } else {
                values.put(key, v.asText());
            }
            sources.put(key, where);
        });
    }

    private static void flatten(String prefix, JsonNode node, Map<String, JsonNode> leaves, String file) {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode v = e.getValue();
            Setting s = Setting.find(key);
            if (v.isObject() && s == null) {
                flatten(key, v, leaves, file);
                continue;
            }
            if (s == null) {
                boolean section = Setting.ALL.stream().anyMatch(x -> x.key().startsWith(key + "."));
                throw new ConfigException(
                        key,
                        section
                                ? "is a section: put its keys under it, e.g. '"
                                        + Setting.ALL.stream()
                                                .filter(x -> x.key().startsWith(key + "."))
                                                .findFirst()
                                                .get()
                                                .key()
                                        + "' (in " + file + ")"
                                : "unknown key" + suggestion(key, "") + "; see `crossfade config keys` (in " + file
                                        + ")");
            }
            if (v.isObject()) {
                throw new ConfigException(key, "takes a value, not a mapping (in " + file + ")");
            }
            leaves.put(key, v);
        }
    }

    private static String suggestion(String key, String prefix) {
        String best = null;
        int bestDistance = 4;
        for (Setting s : Setting.ALL) {
            int d = distance(key, s.key());
            if (d < bestDistance) {
                bestDistance = d;
                best = s.key();
            }
        }
        return best == null ? "" : " (did you mean '" + prefix + best + "'?)";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(
                        Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** A percentage from 0 to 100 (a trailing {@code %} allowed). */
    public double percent(String key) {
        return parsePercent(key, string(key));
    }

    private double parsePercent(String key, String value) {
        String v = value == null ? "" : value.trim();
        try {
            double p = Double.parseDouble(v.endsWith("%") ? v.substring(0, v.length() - 1) : v);
            if (p >= 0 && p <= 100) {
                return p;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw fail(key, "must be a percentage from 0 to 100, got '" + value + "'");
    }

    /** Checks every value: its type, then what each key needs beyond it. */
    private void validate() {
        for (Setting s : Setting.ALL) {
            String v = values.get(s.key());
            if (v == null) {
                continue;
            }
            switch (s.type()) {
                case INT -> integer(s.key());
                case DURATION -> {
                    Duration d = duration(s.key());
                    if (d.isZero() && !ZERO_DURATION.contains(s.key())) {
                        throw fail(s.key(), "must be more than 0, e.g. " + s.defaultValue() + ", got '" + v + "'");
                    }
                }
                case BOOLEAN -> bool(s.key());
                case URL -> {
                    if (!s.key().equals("redis.url")) {
                        uri(s.key()); // redis.url has its own check: a Sentinel URL names several hosts
                    }
                }
                case PATH -> {
                    if (v.isBlank()) {
                        throw fail(s.key(), "must be a file path, e.g. " + s.defaultValue());
                    }
                    path(s.key());
                }
                default -> {}
            }
        }
        for (String k : List.of("ramp.failure-margin", "ramp.max-fallback-rate", "ramp.max-shadow-mismatch-rate")) {
            percent(k);
        }
        double previous = 0;
        for (String step : list("ramp.steps")) {
            double p = parsePercent("ramp.steps", step);
            if (p <= previous) {
                throw fail(
                        "ramp.steps",
                        "must be rising percentages above 0, e.g. 1,5,25,50,100, got '" + values.get("ramp.steps")
                                + "'");
            }
            previous = p;
        }
        choice("kafka.mode", List.of("group", "share"));
        choice("kafka.ordering", List.of("key", "partition", "none"));
        choice("redis.sidekiq-version", List.of("detect", "6", "7", "8"));
        choice("kafka.security-protocol", List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"));
        choice("kafka.sasl-mechanism", List.of("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"));
        kafkaSecurity();
        List<String> backends = list("workers.backends");
        if (backends.isEmpty()) {
            throw fail("workers.backends", "must list redis, kafka or both");
        }
        for (String b : backends) {
            if (!b.equals("redis") && !b.equals("kafka")) {
                throw fail("workers.backends", "must list 'redis' and/or 'kafka', got '" + b + "'");
            }
        }
        List<String> queues = list("workers.queues");
        if (queues.isEmpty()) {
            throw fail("workers.queues", "must name at least one queue, e.g. 'default'");
        }
        for (String q : queues) {
            if (!isQueueName(q)) {
                throw fail("workers.queues", QUEUE_RULE + ", got '" + q + "'");
            }
        }
        for (String p : list("workers.providers")) {
            if (!CLASS_NAME.matcher(p).matches()) {
                throw fail("workers.providers", "must list class names such as com.example.MyWorkers, got '" + p + "'");
            }
        }
        for (String j : list("workers.jars")) {
            try {
                Path.of(j);
            } catch (InvalidPathException e) {
                throw fail("workers.jars", "'" + j + "' is not a path (" + e.getReason() + ")");
            }
        }
        range("kafka.partitions", 1, 100_000);
        range("kafka.max-recoveries", 2, 1_000);
        if (isSet("kafka.replication")) {
            range("kafka.replication", 1, Short.MAX_VALUE);
        }
        range("workers.concurrency", 1, 10_000);
        range("redis.wait-replicas", 0, 100);
        if (duration("redis.wait-timeout").compareTo(Duration.ofSeconds(3)) >= 0) {
            throw fail(
                    "redis.wait-timeout",
                    "must be below 3s (the Redis socket timeout), got '" + string("redis.wait-timeout") + "'");
        }
        range("http.port", 0, 65535);
        bootstrap();
        name("kafka.topic-prefix", "a topic name prefix");
        for (String flag :
                List.of("flags.route-flag", "flags.kill-switch-flag", "flags.shadow-flag", "flags.migration-flag")) {
            if (values.get(flag) != null) {
                name(flag, "a flag key");
            }
        }
        if (!isSet("http.bind") || string("http.bind").trim().contains(" ")) {
            throw fail(
                    "http.bind",
                    "must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0, got '" + string("http.bind") + "'");
        }
        redisUrl();
        for (String key : List.of("flags.relay-uri", "flags.stream-uri", "flags.base-uri", "flags.events-uri")) {
            if (isSet(key)) {
                String scheme = uri(key).getScheme();
                if (!scheme.equals("http") && !scheme.equals("https")) {
                    throw fail(key, "must start with http:// or https://, got '" + shown(key) + "'");
                }
            }
        }
        if (duration("redis.heartbeat-ttl").compareTo(MIN_HEARTBEAT_TTL) < 0) {
            throw fail(
                    "redis.heartbeat-ttl",
                    "must be at least 2s (peers judge a process dead after it), got '" + string("redis.heartbeat-ttl")
                            + "'");
        }
        if (isSet("kafka.session-timeout") && duration("kafka.session-timeout").toMillis() > Integer.MAX_VALUE) {
            throw fail("kafka.session-timeout", "must be at most " + Integer.MAX_VALUE + "ms");
        }
    }

    /** Whether a queue name is usable on both backends (it becomes part of Kafka topic names). */
    public static boolean isQueueName(String q) {
        return NAME.matcher(q).matches() && !q.endsWith(".dlq") && !q.endsWith(".shadow") && !q.contains(".delay.");
    }

    private void redisUrl() {
        String raw = string("redis.url") == null ? "" : string("redis.url").trim();
        if (raw.startsWith("redis+sentinel://") || raw.startsWith("rediss+sentinel://")) {
            sentinelUrl(raw);
            return;
        }
        URI u = uri("redis.url");
        String scheme = u.getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw fail("redis.url", "must start with redis:// or rediss://, got '" + shown("redis.url") + "'");
        }
        String path = u.getPath() == null ? "" : u.getPath();
        if (!path.isEmpty() && !path.equals("/") && !path.matches("/\\d{1,5}")) {
            throw fail("redis.url", "the path must be a database number such as /0, got '" + shown("redis.url") + "'");
        }
    }

    /** {@code redis+sentinel://[user:password@]host:port[,host:port...]/<master name>[/db]}; URI cannot split it. */
    private void sentinelUrl(String raw) {
        String rest = raw.substring(raw.indexOf("://") + 3);
        int slash = rest.indexOf('/');
        String authority = slash < 0 ? rest : rest.substring(0, slash);
        String path = slash < 0 ? "" : rest.substring(slash);
        String hosts = authority.substring(authority.lastIndexOf('@') + 1);
        for (String hp : hosts.split(",", -1)) {
            Matcher m = HOST_PORT.matcher(hp);
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
                throw fail(
                        "redis.url",
                        "must name the sentinels as host:port,host:port (port 1..65535), e.g. "
                                + "redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster, got '" + shown("redis.url")
                                + "'");
            }
        }
        if (!path.matches("/[A-Za-z0-9._-]+(/\\d{1,5})?")) {
            throw fail(
                    "redis.url",
                    "must end with the master's name and an optional database number, e.g. /mymaster or "
                            + "/mymaster/0, got '" + shown("redis.url") + "'");
        }
    }

    /** SASL needs a user and a password; a named trust store must be a readable file. */
    private void kafkaSecurity() {
        String protocol = string("kafka.security-protocol").trim();
        if (protocol.startsWith("SASL_")) {
            for (String key : List.of("kafka.sasl-username", "kafka.sasl-password")) {
                if (!isSet(key)) {
                    throw fail(
                            key,
                            "must be set when kafka.security-protocol is " + protocol + " (e.g. in "
                                    + Setting.find(key).env() + ")");
                }
            }
        }
        if (isSet("kafka.ssl-truststore") && !Files.isReadable(path("kafka.ssl-truststore"))) {
            throw fail(
                    "kafka.ssl-truststore",
                    "names no readable file: '" + string("kafka.ssl-truststore")
                            + "'; give the path of a PKCS12 or JKS trust store");
        }
    }

    private void bootstrap() {
        String v = string("kafka.bootstrap");
        List<String> servers = list("kafka.bootstrap");
        if (servers.isEmpty()) {
            throw fail("kafka.bootstrap", "must name at least one broker as host:port, e.g. 127.0.0.1:9092");
        }
        for (String server : servers) {
            Matcher m = HOST_PORT.matcher(server);
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
                throw fail(
                        "kafka.bootstrap",
                        "must list brokers as host:port (port 1..65535), comma-separated, got '" + Redaction.redact(v)
                                + "'");
            }
        }
    }

    private void choice(String key, List<String> choices) {
        String v = string(key).trim();
        if (!choices.contains(v)) {
            throw fail(
                    key,
                    "must be "
                            + choices.stream()
                                    .map(c -> "'" + c + "'")
                                    .reduce((a, b) -> a + " or " + b)
                                    .orElse("") + ", got '" + v + "'");
        }
    }

    private void range(String key, int min, int max) {
        int v = integer(key);
        if (v < min || v > max) {
            throw fail(key, "must be " + min + ".." + max + ", got " + v);
        }
    }

    private void name(String key, String what) {
        String v = string(key);
        if (v == null || !NAME.matcher(v.trim()).matches() || v.trim().length() > 200) {
            throw fail(key, "must be " + what + " of letters, digits, '.', '_' and '-', got '" + v + "'");
        }
    }

    /** A failure of a key's value, saying where the value was set. */
    private ConfigException fail(String key, String problem) {
        String source = sources.get(key);
        return new ConfigException(
                prefix + key,
                problem + (source == null ? "" : " (" + (source.startsWith("in ") ? source : "from " + source) + ")"));
    }

    /** The value as it may be printed: masked when secret, without a password when a URL. */
    public String shown(String key) {
        String v = string(key);
        if (v == null) {
            return null;
        }
        return Setting.find(key).secret() ? Redaction.MASK : Redaction.redact(v);
    }

    /** Where the configuration came from: a file name or "defaults". */
    public String origin() {
        return origin;
    }

    /** The raw value of a key (null when unset). */
    public String string(String key) {
        if (Setting.find(key) == null) {
            throw new IllegalArgumentException("not a config key: " + key);
        }
        return values.get(key);
    }

    public int integer(String key) {
        String v = string(key);
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException | NullPointerException e) {
            throw fail(
                    key,
                    "must be a whole number"
                            + (v != null && v.trim().matches("-?\\d+")
                                    ? " between " + Integer.MIN_VALUE + " and " + Integer.MAX_VALUE
                                    : "")
                            + ", got '" + v + "'");
        }
    }

    public boolean bool(String key) {
        String raw = string(key);
        String v = raw == null ? "" : raw.trim().toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw fail(key, "must be true or false, got '" + raw + "'");
        }
        return v.equals("true");
    }

    public Duration duration(String key) {
        String raw = string(key);
        String v = raw == null ? "" : raw.trim();
        Matcher m = DURATION.matcher(v);
        if (!m.matches()) {
            throw fail(key, "must be a duration such as 500ms, 5s, 2m or 1h, got '" + v + "'");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.compareTo(MAX_DURATION) > 0) {
            throw fail(key, "must be at most " + MAX_DURATION.toHours() + "h, got '" + v + "'");
        }
        return d;
    }

    public URI uri(String key) {
        String v = string(key);
        String shown = Redaction.redact(v);
        try {
            URI u = new URI(v == null ? "" : v.trim());
            if (u.getScheme() == null || u.getHost() == null) {
                throw fail(key, "must be a URL with a scheme and a host, got '" + shown + "'");
            }
            if (u.getPort() > 65535) {
                throw fail(key, "the port must be 1..65535, got '" + shown + "'");
            }
            return u;
        } catch (java.net.URISyntaxException e) {
            throw fail(key, "is not a valid URL ('" + shown + "': " + Redaction.redact(e.getReason()) + ")");
        }
    }

    public List<String> list(String key) {
        String v = string(key);
        if (v == null || v.isBlank()) {
            return List.of();
        }
        return Arrays.stream(v.split(","))
                .map(String::trim)
                .filter(x -> !x.isEmpty())
                .toList();
    }

    public Path path(String key) {
        String v = string(key);
        try {
            return Path.of(v == null ? "" : v);
        } catch (InvalidPathException e) {
            throw fail(key, "is not a valid path (" + e.getReason() + ")");
        }
    }

    /** Whether a key has a value. */
    public boolean isSet(String key) {
        String v = string(key);
        return v != null && !v.isBlank();
    }
}
