package dev.crossfade.flags.file;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.crossfade.flags.FlagsConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Reads and edits a local flags file in LaunchDarkly's file-data format: the route flag as a percentage rollout over
 * {@code redis}/{@code kafka}, the kill switch, and the shadow flag as a percentage rollout over false/true. Every
 * rollout buckets contexts of kind {@code job} by key, with a fixed salt per flag, so a key keeps its backend while the
 * percentage is unchanged and only ever moves toward Kafka as it rises. At 0% and 100% the flag serves one variation
 * outright, with no bucketing: at 0% it is off (its off variation is {@code redis}, or no shadow), as the kill switch
 * is when not engaged.
 *
 * <p>Writes are atomic (write a temporary file, then rename) so the SDK's file watcher never reads half a file. Other
 * flags in the file are kept.
 */
public final class FlagsFile {
    private static final int FULL = 100_000;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path path;
    private final String routeFlag;
    private final String killSwitchFlag;
    private final String shadowFlag;

    private FlagsFile(Path path, String routeFlag, String killSwitchFlag, String shadowFlag) {
        this.path = path;
        this.routeFlag = routeFlag;
        this.killSwitchFlag = killSwitchFlag;
        this.shadowFlag = shadowFlag;
    }

    /** A flags file at {@code path} with the default flag keys. */
    public static FlagsFile at(Path path) {
        return new FlagsFile(
                path,
                FlagsConfig.DEFAULT_ROUTE_FLAG,
                FlagsConfig.DEFAULT_KILL_SWITCH_FLAG,
                FlagsConfig.DEFAULT_SHADOW_FLAG);
    }

    /** A flags file using the keys of {@code config}. */
    public static FlagsFile at(Path path, FlagsConfig config) {
        return new FlagsFile(path, config.routeFlag(), config.killSwitchFlag(), config.shadowFlag());
    }

    /** A flags file using the given flag keys (those the router reads: {@code flags.route-flag} and the others). */
    public static FlagsFile at(Path path, String routeFlag, String killSwitchFlag, String shadowFlag) {
        return new FlagsFile(path, routeFlag, killSwitchFlag, shadowFlag);
    }

    public Path path() {
        return path;
    }

    /** The current settings as written in the file. */
    public record Settings(double kafkaPercent, boolean killSwitch, double shadowPercent) {}

    /** Creates the file with 0% Kafka, kill switch off, no shadow, unless it exists. */
    public synchronized void createIfMissing() {
        if (!Files.exists(path)) {
            write(new Settings(0, false, 0));
        }
    }

    /** Reads the settings. */
    public synchronized Settings read() {
        ObjectNode flags = load();
        return new Settings(
                percentOf(flags.path(routeFlag), 1),
                flags.path(killSwitchFlag).path("fallthrough").path("variation").asInt(0) == 1
                        && flags.path(killSwitchFlag).path("on").asBoolean(),
                percentOf(flags.path(shadowFlag), 1));
    }

    /** Sets the share of jobs routed to Kafka, 0 to 100. */
    public synchronized void setKafkaPercent(double percent) {
        Settings s = read();
        write(new Settings(checkPercent(percent, "kafka percent"), s.killSwitch(), s.shadowPercent()));
    }

    /** Turns the kill switch on (everything to Redis, no shadow) or off. */
    public synchronized void setKillSwitch(boolean on) {
        Settings s = read();
        write(new Settings(s.kafkaPercent(), on, s.shadowPercent()));
    }

    /** Sets the share of jobs that also get a shadow copy on the other backend, 0 to 100. */
    public synchronized void setShadowPercent(double percent) {
        Settings s = read();
        write(new Settings(s.kafkaPercent(), s.killSwitch(), checkPercent(percent, "shadow percent")));
    }

    /** Writes all three settings at once. */
    public synchronized void write(Settings settings) {
        ObjectNode root = JSON.createObjectNode();
        if (Files.exists(path)) {
            try {
                root = loadRoot();
            } catch (IllegalStateException unreadable) {
                // The file is being replaced wholesale; an unreadable one has nothing worth keeping.
            }
        }
        ObjectNode flags = root.with("flags");
        flags.set(
                routeFlag,
                rollout(
                        routeFlag,
                        flags.path(routeFlag),
                        JSON.createArrayNode().add("redis").add("kafka"),
                        settings.kafkaPercent()));
        flags.set(
                shadowFlag,
                rollout(
                        shadowFlag,
                        flags.path(shadowFlag),
                        JSON.createArrayNode().add(false).add(true),
                        settings.shadowPercent()));
        ObjectNode kill = flag(
                killSwitchFlag,
                flags.path(killSwitchFlag),
                JSON.createArrayNode().add(false).add(true));
        // Off at rest, as a kill switch is in LaunchDarkly: RoutingFlags then reads it once until it changes.
        kill.put("on", settings.killSwitch());
        kill.putObject("fallthrough").put("variation", settings.killSwitch() ? 1 : 0);
        flags.set(killSwitchFlag, kill);
        try {
            Path dir = path.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".flags", ".tmp");
            JSON.writeValue(tmp.toFile(), root);
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write flags file " + path + ": " + e.getMessage(), e);
        }
    }

    private static ObjectNode flag(String key, JsonNode previous, ArrayNode variations) {
        ObjectNode f = JSON.createObjectNode();
        f.put("key", key);
        f.put("version", previous.path("version").asInt(0) + 1);
        f.put("on", true);
        // A fixed salt per flag: buckets stay stable across edits, and flags bucket independently of each other.
        f.put("salt", key + "-salt");
        f.set("variations", variations);
        f.put("offVariation", 0);
        f.putArray("targets");
        f.putArray("rules");
        f.putArray("prerequisites");
        return f;
    }

    private static ObjectNode rollout(String key, JsonNode previous, ArrayNode variations, double percent) {
        ObjectNode f = flag(key, previous, variations);
        int second = (int) Math.round(percent * FULL / 100.0);
        if (second == 0 || second == FULL) {
            // Nothing to bucket: a fixed variation spares the SDK a SHA-1 of the key on every evaluation (the largest
            // part of a routing decision). At 0% the flag is off, serving its off variation, which RoutingFlags reads
            // once until the flag changes. The buckets are the same when a rollout comes back, so keys stay sticky.
            f.put("on", second != 0);
            f.putObject("fallthrough").put("variation", second == 0 ? 0 : 1);
            return f;
        }
        ObjectNode r = f.putObject("fallthrough").putObject("rollout");
        r.put("contextKind", "job");
        r.put("bucketBy", "key");
        ArrayNode weights = r.putArray("variations");
        // Variation 0 takes the low buckets, so raising the percentage only moves keys from 0 to 1.
        weights.addObject().put("variation", 0).put("weight", FULL - second);
        weights.addObject().put("variation", 1).put("weight", second);
        return f;
    }

    private static double percentOf(JsonNode flag, int variation) {
        if (!flag.path("on").asBoolean(false)) {
            return 0;
        }
        JsonNode ft = flag.path("fallthrough");
        if (ft.has("variation")) {
            return ft.path("variation").asInt() == variation ? 100 : 0;
        }
        for (JsonNode w : ft.path("rollout").path("variations")) {
            if (w.path("variation").asInt() == variation) {
                return w.path("weight").asDouble() * 100.0 / FULL;
            }
        }
        return 0;
    }

    private static double checkPercent(double p, String what) {
        if (Double.isNaN(p) || p < 0 || p > 100) {
            throw new IllegalArgumentException(what + " must be between 0 and 100, got " + p);
        }
        return p;
    }

    private ObjectNode load() {
        if (!Files.exists(path)) {
            return JSON.createObjectNode();
        }
        JsonNode flags = loadRoot().path("flags");
        return flags.isObject() ? (ObjectNode) flags : JSON.createObjectNode();
    }

    private ObjectNode loadRoot() {
        try {
            JsonNode root = JSON.readTree(path.toFile());
            if (root == null || !root.isObject()) {
                throw new IllegalStateException("flags file " + path + " is not a JSON object");
            }
            return (ObjectNode) root;
        } catch (IOException e) {
            throw new IllegalStateException("flags file " + path + " is not valid JSON: " + e.getMessage(), e);
        }
    }
}
