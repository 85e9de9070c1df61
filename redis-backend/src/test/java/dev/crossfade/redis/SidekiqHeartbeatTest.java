package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the heartbeat writes for Sidekiq 7/8 (the process hash with its concurrency and capsules) and the execution
 * metrics of Sidekiq 8's Metrics page, key by key. The interop tests read the same through Sidekiq itself.
 */
@ExtendWith(CrossfadeServices.class)
class SidekiqHeartbeatTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void processHashAndExecutionMetricsInSidekiq8Layout(RedisService redis, TestNamespace ns) throws Exception {
        String p = ns.value() + ":";
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value())
                .sidekiqVersion(SidekiqVersion.V8)
                .build())) {
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Quick", (args, ctx) -> {})
                    .register(
                            "Broken",
                            (args, ctx) -> {
                                throw new IllegalStateException("no");
                            },
                            WorkerOptions.custom().maxRetries(0).build())
                    .build();
            ExecutionCore core = ExecutionCore.builder(registry)
                    .retryPolicy(RetryPolicy.fixed(Duration.ZERO))
                    .build();
            Instant before = Instant.now();
            for (int i = 0; i < 3; i++) {
                backend.queue().enqueue(Job.of("Quick", i));
            }
            // Not registered under the wrapper's name, and retry: false, so it fails once and is discarded.
            backend.queue()
                    .enqueue(Job.builder("Sidekiq::ActiveJob::Wrapper")
                            .args(1)
                            .retry(false)
                            .extra("wrapped", com.fasterxml.jackson.databind.node.TextNode.valueOf("Broken"))
                            .build());
            backend.queue().enqueue(Job.of("Broken", 1));
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default", "low"), 3)) {
                workers.start();
                String id = workers.identity();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.admin().deadSize() == 1);
                Map<String, String> proc = backend.redis().hgetAll(p + id);
                assertEquals("3", proc.get("concurrency"), "Sidekiq 7/8 read concurrency from the hash: " + proc);
                JsonNode info = JSON.readTree(proc.get("info"));
                JsonNode cap = info.get("capsules").get("default");
                assertEquals(3, cap.get("concurrency").asInt());
                assertEquals("random", cap.get("mode").asText());
                assertEquals(Set.of("default", "low"), fieldNames(cap.get("weights")));
                assertEquals(1, cap.get("weights").get("low").asInt());
                assertFalse(proc.get("info").contains("crossfade-shadow"), "no shadow queue shown");
                for (String f : List.of("busy", "beat", "rtt_us", "rss", "quiet")) {
                    assertTrue(proc.containsKey(f), f + " in " + proc);
                }
                // The metrics are flushed by a beat after the jobs ran.
                await().atMost(Duration.ofSeconds(10))
                        .until(() ->
                                flushed(metrics(backend, p, Instant.now())) || flushed(metrics(backend, p, before)));
            }
            Instant at = flushed(metrics(backend, p, before)) ? before : Instant.now();
            Map<String, String> m = metrics(backend, p, at);
            assertEquals("3", m.get("Quick|p"));
            assertTrue(m.containsKey("Quick|ms"), "time of successful runs: " + m);
            assertEquals("2", m.get("Broken|p"), "the wrapped class counts, as Sidekiq's middleware does: " + m);
            assertEquals("2", m.get("Broken|f"));
            assertFalse(m.containsKey("Broken|ms"), "failed runs are not timed: " + m);
            assertFalse(m.containsKey("Sidekiq::ActiveJob::Wrapper|p"));
            String minuteKey = p + "j|"
                    + DateTimeFormatter.ofPattern("yyMMdd|H:mm")
                            .withZone(ZoneOffset.UTC)
                            .format(at);
            String tenMinuteKey = minuteKey.substring(0, minuteKey.length() - 1);
            assertEquals(m, backend.redis().hgetAll(tenMinuteKey), "the ten-minute bucket too");
            long ttl = backend.redis().ttl(minuteKey);
            assertTrue(ttl > 7 * 3600 && ttl <= 8 * 3600, "8 h: " + ttl);
            ttl = backend.redis().ttl(tenMinuteKey);
            assertTrue(ttl > 71 * 3600 && ttl <= 72 * 3600, "3 days: " + ttl);
            String hist = p + "h|Quick-"
                    + DateTimeFormatter.ofPattern("d-H:m")
                            .withZone(ZoneOffset.UTC)
                            .format(at);
            List<Long> buckets = backend.redis().bitfieldReadonly(hist, "GET", "u16", "#0");
            assertEquals(3L, buckets.get(0), "three runs under 20 ms in the first bucket");
            assertTrue(backend.redis().ttl(hist) > 7 * 3600);
            assertTrue(
                    Long.parseLong(backend.redis()
                                    .get(p + "stat:processed:"
                                            + before.toString().substring(0, 10)))
                            >= 5,
                    "dated processed counter");
        }
    }

    @Test
    void aSidekiq6FleetGetsNoExecutionMetrics(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value())
                .sidekiqVersion(SidekiqVersion.V6)
                .build())) {
            ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                            .register("Quick", (a, c) -> {})
                            .build())
                    .build();
            backend.queue().enqueue(Job.of("Quick", 1));
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1)) {
                workers.start();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> "1".equals(backend.redis().get(ns.value() + ":stat:processed")));
            }
            assertEquals(Set.of(), backend.redis().keys(ns.value() + ":j|*"));
            assertEquals(Set.of(), backend.redis().keys(ns.value() + ":h|*"));
        }
    }

    private static Map<String, String> metrics(RedisBackend backend, String p, Instant at) {
        return backend.redis()
                .hgetAll(p + "j|"
                        + DateTimeFormatter.ofPattern("yyMMdd|H:mm")
                                .withZone(ZoneOffset.UTC)
                                .format(at));
    }

    /** All five runs counted in one minute (a minute boundary between them would split them: then wait for later). */
    private static boolean flushed(Map<String, String> m) {
        return "3".equals(m.get("Quick|p")) && "2".equals(m.get("Broken|f"));
    }

    private static Set<String> fieldNames(JsonNode n) {
        Set<String> s = new java.util.HashSet<>();
        n.fieldNames().forEachRemaining(s::add);
        return s;
    }
}
