package dev.crossfade.cli.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Crossfade's configuration: one YAML file plus environment variables (which win), every key listed in
 * {@link Setting#ALL}. Immutable. Loading validates every value and fails with a {@link ConfigException} naming the
 * key and the fix.
 */
public final class CrossfadeConfig {
    private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h)");
    private final Map<String, String> values;
    private final String origin;

    private CrossfadeConfig(Map<String, String> values, String origin) {
        this.values = values;
        this.origin = origin;
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
        for (Setting s : Setting.ALL) {
            values.put(s.key(), s.defaultValue());
        }
        String origin = "defaults";
        if (file != null) {
            if (!Files.isRegularFile(file)) {
                throw new ConfigException("--config", "file " + file + " does not exist; create it or drop --config");
            }
            readYaml(file, values);
            origin = file.toString();
        }
        for (Setting s : Setting.ALL) {
            String v = env.get(s.env());
            if (v != null) {
                values.put(s.key(), v);
            }
        }
        if (env.get("LD_SDK_KEY") != null && env.get(Setting.find("flags.sdk-key").env()) == null) {
            values.put("flags.sdk-key", env.get("LD_SDK_KEY"));
        }
        CrossfadeConfig c = new CrossfadeConfig(values, origin);
        c.validate();
        return c;
    }

    private static void readYaml(Path file, Map<String, String> values) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (IOException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
            throw new ConfigException(file.toString(), "not valid YAML (" + msg + "); fix the syntax");
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return;
        }
        if (!root.isObject()) {
            throw new ConfigException(file.toString(), "must be a YAML mapping of sections (redis, kafka, flags, ...)");
        }
        flatten("", root, values);
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> values) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey();
            JsonNode v = e.getValue();
            if (v.isObject()) {
                flatten(key, v, values);
                continue;
            }
            Setting s = Setting.find(key);
            if (s == null) {
                throw new ConfigException(key, "unknown key" + suggestion(key) + "; see `crossfade config keys`");
            }
            if (v.isArray()) {
                List<String> items = new ArrayList<>();
                v.forEach(i -> items.add(i.asText()));
                values.put(key, String.join(",", items));
            } else {
                values.put(key, v.isNull() ? null : v.asText());
            }
        }
    }

    private static String suggestion(String key) {
        String best = null;
        int bestDistance = 4;
        for (Setting s : Setting.ALL) {
            int d = distance(key, s.key());
            if (d < bestDistance) {
                bestDistance = d;
                best = s.key();
            }
        }
        return best == null ? "" : " (did you mean '" + best + "'?)";
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
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1)
                        ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private void validate() {
        for (Setting s : Setting.ALL) {
            String v = values.get(s.key());
            if (v == null) {
                continue;
            }
            switch (s.type()) {
                case INT -> integer(s.key());
                case DURATION -> duration(s.key());
                case BOOLEAN -> bool(s.key());
                case URL -> uri(s.key());
                default -> {
                }
            }
        }
        String mode = string("kafka.mode");
        if (!mode.equals("group") && !mode.equals("share")) {
            throw new ConfigException("kafka.mode", "must be 'group' or 'share', got '" + mode + "'");
        }
        for (String b : list("workers.backends")) {
            if (!b.equals("redis") && !b.equals("kafka")) {
                throw new ConfigException("workers.backends", "must list 'redis' and/or 'kafka', got '" + b + "'");
            }
        }
        if (list("workers.queues").isEmpty()) {
            throw new ConfigException("workers.queues", "must name at least one queue, e.g. 'default'");
        }
        positive("kafka.partitions");
        positive("kafka.replication");
        positive("workers.concurrency");
        int port = integer("http.port");
        if (port < 0 || port > 65535) {
            throw new ConfigException("http.port", "must be 0..65535, got " + port);
        }
        String scheme = uri("redis.url").getScheme();
        if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
            throw new ConfigException("redis.url", "must start with redis:// or rediss://, got '"
                    + string("redis.url") + "'");
        }
    }

    private void positive(String key) {
        if (integer(key) < 1) {
            throw new ConfigException(key, "must be at least 1, got " + integer(key));
        }
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
        } catch (NumberFormatException e) {
            throw new ConfigException(key, "must be a whole number, got '" + v + "'");
        }
    }

    public boolean bool(String key) {
        String v = string(key).trim().toLowerCase(Locale.ROOT);
        if (!v.equals("true") && !v.equals("false")) {
            throw new ConfigException(key, "must be true or false, got '" + string(key) + "'");
        }
        return v.equals("true");
    }

    public Duration duration(String key) {
        String v = string(key).trim();
        Matcher m = DURATION.matcher(v);
        if (!m.matches()) {
            throw new ConfigException(key, "must be a duration such as 500ms, 5s, 2m or 1h, got '" + v + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    public URI uri(String key) {
        String v = string(key);
        try {
            URI u = new URI(v.trim());
            if (u.getScheme() == null || u.getHost() == null) {
                throw new ConfigException(key, "must be a URL with a scheme and a host, got '" + v + "'");
            }
            return u;
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(key, "is not a valid URL ('" + v + "': " + e.getReason() + ")");
        }
    }

    public List<String> list(String key) {
        String v = string(key);
        if (v == null || v.isBlank()) {
            return List.of();
        }
        return Arrays.stream(v.split(",")).map(String::trim).filter(x -> !x.isEmpty()).toList();
    }

    public Path path(String key) {
        return Path.of(string(key));
    }

    /** Whether a key has a value. */
    public boolean isSet(String key) {
        String v = string(key);
        return v != null && !v.isBlank();
    }
}
