package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every kind of bad value, for every type of setting, from the YAML file and from the environment: each stops the
 * command with exit code 2 and exactly one line naming the key (and where the value came from), never a stack trace.
 * Needs no servers: configuration is checked before anything connects.
 */
class BadConfigTest {
    /** A bad value of a key, and a word the message must contain besides the key. */
    private record Bad(String key, String value, String says) {}

    private static final List<Bad> TABLE = List.of(
            // whole numbers
            new Bad("workers.concurrency", "many", "whole number"),
            new Bad("workers.concurrency", "0", "1..10000"),
            new Bad("workers.concurrency", "99999999999", "whole number"),
            new Bad("workers.concurrency", "2.5", "whole number"),
            new Bad("http.port", "99999", "0..65535"),
            new Bad("http.port", "-1", "0..65535"),
            new Bad("kafka.partitions", "0", "1..100000"),
            new Bad("kafka.max-recoveries", "1", "2..1000"),
            new Bad("kafka.replication", "40000", "1..32767"),
            // durations
            new Bad("router.kafka-timeout", "soon", "500ms, 5s"),
            new Bad("router.kafka-timeout", "5", "500ms, 5s"),
            new Bad("router.kafka-timeout", "-5s", "500ms, 5s"),
            new Bad("router.kafka-timeout", "1.5s", "500ms, 5s"),
            new Bad("router.kafka-timeout", "0s", "more than 0"),
            new Bad("workers.run-once-lease", "99999999999h", "at most"),
            new Bad("workers.run-once-memory", "9999999999999999999999s", "500ms, 5s"),
            new Bad("flags.start-wait", "5 sec", "500ms, 5s"),
            new Bad("kafka.session-timeout", "2d", "500ms, 5s"),
            new Bad("health.timeout", "0ms", "more than 0"),
            new Bad("workers.shutdown-timeout", "", "500ms, 5s"),
            new Bad("redis.heartbeat-ttl", "1s", "at least 2s"),
            new Bad("redis.heartbeat-ttl", "1999ms", "at least 2s"),
            new Bad("redis.heartbeat-ttl", "0s", "more than 0"),
            new Bad("redis.heartbeat-ttl", "a minute", "500ms, 5s"),
            // booleans
            new Bad("redis.strict-maxmemory", "maybe", "true or false"),
            new Bad("redis.strict-maxmemory", "1", "true or false"),
            // enums
            new Bad("kafka.mode", "shard", "'group' or 'share'"),
            new Bad("kafka.mode", "", "'group' or 'share'"),
            new Bad("kafka.ordering", "keys", "'key' or 'partition' or 'none'"),
            new Bad("redis.sidekiq-version", "9", "'detect' or '6' or '7' or '8'"),
            new Bad("redis.sidekiq-version", "8.1", "'detect' or '6' or '7' or '8'"),
            // URLs
            new Bad("redis.url", "http://localhost", "redis://"),
            new Bad("redis.url", "redis://", "URL"),
            new Bad("redis.url", "not a url", "not a valid URL"),
            new Bad("redis.url", "redis://127.0.0.1:99999/0", "port"),
            new Bad("redis.url", "redis://127.0.0.1:6379/zero", "database number"),
            new Bad("flags.relay-uri", "ftp://relay.example", "http://"),
            new Bad("flags.relay-uri", "relay", "scheme and a host"),
            new Bad("flags.stream-uri", "ftp://stream.example", "http://"),
            new Bad("flags.base-uri", "app", "scheme and a host"),
            new Bad("flags.events-uri", "https://events.example:99999", "port"),
            // lists
            new Bad("workers.backends", "redis,mongo", "'redis' and/or 'kafka'"),
            new Bad("workers.backends", "", "redis, kafka or both"),
            new Bad("workers.queues", "", "at least one queue"),
            new Bad("workers.queues", "default,bad queue!", "letters, digits"),
            new Bad("workers.queues", "orders.dlq", ".dlq"),
            new Bad("workers.providers", "com..Broken", "class names"),
            // strings with a shape
            new Bad("kafka.bootstrap", "localhost", "host:port"),
            new Bad("kafka.bootstrap", "broker:0", "host:port"),
            new Bad("kafka.bootstrap", "a:9092,,b", "host:port"),
            new Bad("kafka.bootstrap", "", "at least one broker"),
            new Bad("kafka.topic-prefix", "my prefix", "letters, digits"),
            new Bad("flags.route-flag", "route flag", "letters, digits"),
            new Bad("http.bind", "", "address to listen on"),
            // paths
            new Bad("flags.file", "", "file path"));

    @TempDir
    Path dir;

    @Test
    void everyBadValueFromTheFileIsOneLineNamingTheKeyAndExitTwo() throws IOException {
        List<String> wrong = new ArrayList<>();
        for (Bad b : TABLE) {
            String[] parts = b.key().split("\\.", 2);
            Path c = Files.writeString(
                    dir.resolve("bad.yml"), parts[0] + ":\n  " + parts[1] + ": " + quoted(b.value()) + "\n");
            check(wrong, b, CliTestSupport.run(Map.of(), "config", "show", "-c", c.toString()), "in bad.yml");
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void everyBadValueFromTheEnvironmentIsOneLineNamingTheKeyAndExitTwo() {
        List<String> wrong = new ArrayList<>();
        for (Bad b : TABLE) {
            String env = Setting.find(b.key()).env();
            check(wrong, b, CliTestSupport.run(Map.of(env, b.value()), "config", "show"), "from " + env);
        }
        assertEquals(List.of(), wrong);
    }

    private static Duration beat(Duration ttl) {
        return dev.crossfade.redis.RedisBackendConfig.custom()
                .heartbeatTtl(ttl)
                .build()
                .heartbeatInterval();
    }

    @Test
    void aShortHeartbeatTtlIsAcceptedAndSetsTheBeat() throws IOException {
        Path c = Files.writeString(dir.resolve("ttl.yml"), "redis:\n  heartbeat-ttl: 6s\n");
        CliTestSupport.Result r = CliTestSupport.run(Map.of(), "config", "show", "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.contains("redis.heartbeat-ttl") && l.contains("6s")), r.out());
        // Sidekiq's ratio: a beat every sixth of the TTL, never rarer than every 10 s.
        assertEquals(Duration.ofSeconds(1), beat(Duration.ofSeconds(6)));
        assertEquals(
                Duration.ofMillis(333), beat(Duration.ofSeconds(2)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        assertEquals(Duration.ofSeconds(10), beat(Duration.ofSeconds(60)));
        assertEquals(Duration.ofSeconds(10), beat(Duration.ofMinutes(10)));
    }

    @Test
    void valuesOfTheWrongYamlShapeNameTheKey() throws IOException {
        List<String> wrong = new ArrayList<>();
        String[][] cases = {
            {"workers:\n  concurrency: [1, 2]\n", "workers.concurrency", "not a list"},
            {"redis:\n  url:\n    host: x\n", "redis.url", "not a mapping"},
            {"workers:\n  concurrency:\n", "workers.concurrency", "has no value"},
            {"redis: 5\n", "redis", "is a section"},
            {"workers:\n  queues: [default, [nested]]\n", "workers.queues", "plain values"},
            {"kafka:\n  bootstrp: x:1\n", "kafka.bootstrp", "did you mean 'kafka.bootstrap'"},
        };
        for (String[] c : cases) {
            Path f = Files.writeString(dir.resolve("shape.yml"), c[0]);
            check(
                    wrong,
                    new Bad(c[1], c[0], c[2]),
                    CliTestSupport.run(Map.of(), "config", "show", "-c", f.toString()),
                    "in shape.yml");
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void theRealEnvironmentIsReadToo() throws Exception {
        try (CliProcess p = CliProcess.start(dir, Map.of("CROSSFADE_WORKERS_CONCURRENCY", "lots"), "status")) {
            assertEquals(2, p.awaitExit(java.time.Duration.ofSeconds(30)), p.output());
            List<String> lines = p.output().strip().lines().toList();
            assertEquals(1, lines.size(), p.output());
            assertEquals(
                    "config error: workers.concurrency: must be a whole number, got 'lots' (from "
                            + "CROSSFADE_WORKERS_CONCURRENCY)",
                    lines.get(0));
        }
    }

    private static void check(List<String> wrong, Bad b, CliTestSupport.Result r, String source) {
        List<String> lines = r.err().strip().lines().toList();
        String problem = null;
        if (r.exit() != 2) {
            problem = "exit " + r.exit();
        } else if (lines.size() != 1) {
            problem = lines.size() + " lines";
        } else if (!lines.get(0).startsWith("config error: " + b.key() + ": ")) {
            problem = "does not start with the key";
        } else if (!lines.get(0).contains(b.says())) {
            problem = "does not say '" + b.says() + "'";
        } else if (!lines.get(0).contains(source)) {
            problem = "does not say " + source;
        } else if (r.log().contains("\tat ") || r.log().contains("Exception")) {
            problem = "logged an exception";
        }
        if (problem != null) {
            wrong.add(b.key() + "=" + b.value() + ": " + problem + ": " + r.err() + r.log());
        }
    }

    private static String quoted(String v) {
        return "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }
}
