package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * The commands with flags from LaunchDarkly reached at {@code flags.stream-uri}, {@code flags.base-uri} and
 * {@code flags.events-uri} (here {@link LocalLaunchDarkly}, as a Relay Proxy would serve them): enqueues route by the
 * streamed flags, {@code status} and the dashboard of {@code work} show those flags as they are, and the SDK's events
 * reach the events URI. The SDK key is a test secret: nothing may print it.
 */
@ExtendWith(CrossfadeServices.class)
class LaunchDarklyCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static String bool(boolean on) {
        return """
                {"on": %s, "salt": "s", "variations": [false, true], "offVariation": 0,
                 "fallthrough": {"variation": 1}, "targets": [], "rules": [], "prerequisites": []}""".formatted(on);
    }

    /** Percentage rollouts by job key: {@code kafkaPercent} to kafka on the route flag, or true on a boolean flag. */
    private static String rollout(String[] variations, int percent) {
        int w = percent * 1000;
        return """
                {"on": true, "salt": "cli-salt", "variations": [%s, %s], "offVariation": 0,
                 "targets": [], "rules": [], "prerequisites": [],
                 "fallthrough": {"rollout": {"contextKind": "job", "bucketBy": "key", "variations": [
                   {"variation": 0, "weight": %d}, {"variation": 1, "weight": %d}]}}}""".formatted(variations[0], variations[1], 100_000 - w, w);
    }

    private Path config(RedisService redis, KafkaService kafka, TestNamespace ns, LocalLaunchDarkly ld, int httpPort)
            throws IOException {
        return CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .launchDarkly(ld)
                .set("workers.backends", "redis")
                .set("workers.concurrency", 2)
                .set("http.port", httpPort)
                .write();
    }

    @Test
    void enqueueStatusAndWorkFollowTheFlagsStreamedFromTheConfiguredUris(
            RedisService redis, KafkaService kafka, TestNamespace ns) throws Exception {
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder()
                        .sdkKey(CliTestSupport.SDK_KEY)
                        .flag("crossfade-kill-switch", bool(false))
                        .flag("crossfade-shadow", bool(false))
                        .flag("crossfade-route", rollout(new String[] {"\"redis\"", "\"kafka\""}, 100))
                        .build()
                        .start();
                Jedis jedis = new Jedis(redis.uri())) {
            int port = freePort();
            String c = config(redis, kafka, ns, ld, port).toString();
            String queue = ns.value() + ":queue:default";

            // 100% Kafka: nothing reaches Redis's queue.
            CliTestSupport.Result r = CliTestSupport.run("enqueue", "crossfade.Echo", "x", "--count", "5", "-c", c);
            assertEquals(0, r.exit(), r.err() + r.log());
            assertEquals(0, jedis.llen(queue), "routed to Kafka by the streamed route flag");

            r = CliTestSupport.run("status", "-c", c);
            assertEquals(0, r.exit(), r.err());
            assertTrue(r.out().contains("split:    100.0% Kafka, shadow 0.0%, kill switch off"), r.out());
            // The three URIs are one, so it is described as the Relay Proxy it stands for.
            assertTrue(r.out().contains("flags:    LaunchDarkly via Relay Proxy " + ld.uri() + " (healthy)"), r.out());

            // The kill switch, flipped in LaunchDarkly: routed jobs go to Redis and status says so.
            ld.setFlag("crossfade-kill-switch", bool(true));
            r = CliTestSupport.run("enqueue", "crossfade.Echo", "y", "--count", "3", "-c", c);
            assertEquals(0, r.exit(), r.err());
            assertEquals(3, jedis.llen(queue), "the kill switch sends every job to Redis");
            r = CliTestSupport.run("status", "-c", c);
            assertTrue(r.out().contains("split:    0.0% Kafka, shadow 0.0%, kill switch ON"), r.out());

            // The SDK's events went to the events URI: every routed enqueue counted.
            ld.awaitEvents(
                    Duration.ofSeconds(10),
                    ev -> ev.stream()
                                    .filter(e -> "summary".equals(e.path("kind").asText()))
                                    .mapToLong(e -> count(e, "crossfade-kill-switch"))
                                    .sum()
                            >= 8);

            ld.setFlag("crossfade-shadow", rollout(new String[] {"false", "true"}, 20));
            // A worker process shows the flags as LaunchDarkly serves them, and follows their changes.
            try (CliProcess work = CliProcess.start(dir, Map.of(), "work", "-c", c)) {
                work.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));
                await().atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(200))
                        .ignoreExceptions()
                        .until(() -> split(port).path("killSwitch").asBoolean());
                ld.setFlag("crossfade-kill-switch", bool(false));
                await().atMost(Duration.ofSeconds(20))
                        .pollInterval(Duration.ofMillis(200))
                        .ignoreExceptions()
                        .until(() -> !split(port).path("killSwitch").asBoolean()
                                && split(port).path("kafkaPercent").asDouble() == 100.0);
                double shadow = split(port).path("shadowPercent").asDouble();
                assertTrue(shadow > 10 && shadow < 30, "shadow share as the 20% rollout serves it: " + shadow);
                assertTrue(
                        work.output().contains("flags from LaunchDarkly via Relay Proxy " + ld.uri()), work.output());
            }

            // With a migration flag, status shows its stage as LaunchDarkly serves it.
            ld.setFlag("crossfade-migration", """
                    {"on": true, "variations": ["off", "dualwrite", "shadow", "live", "rampdown", "complete"],
                     "offVariation": 0, "fallthrough": {"variation": 3}}""");
            r = CliTestSupport.run(Map.of("CROSSFADE_FLAGS_MIGRATION_FLAG", "crossfade-migration"), "status", "-c", c);
            assertEquals(0, r.exit(), r.err());
            assertTrue(
                    r.out().contains("split:    100.0% Kafka, shadow 100.0%, kill switch off, migration stage live"),
                    r.out());
            assertEquals(0, ld.unauthorizedRequests(), "the SDK key reached LaunchDarkly");
        }
    }

    private static long count(JsonNode summary, String flag) {
        long n = 0;
        for (JsonNode counter : summary.path("features").path(flag).path("counters")) {
            n += counter.path("count").asLong();
        }
        return n;
    }

    private static JsonNode split(int port) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/status"))
                                .timeout(Duration.ofSeconds(2))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).path("split");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
