package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every timestamp Crossfade writes ({@code created_at}, {@code enqueued_at}, {@code failed_at}, {@code retried_at})
 * follows the Sidekiq generation: configured, or detected from the Ruby processes registered in Redis. Scores stay
 * float seconds.
 */
@ExtendWith(CrossfadeServices.class)
class SidekiqVersionTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void configuredGenerationDecidesEveryTimestampJavaWrites(RedisService redis, TestNamespace ns) throws Exception {
        for (SidekiqVersion v : List.of(SidekiqVersion.V8, SidekiqVersion.V7, SidekiqVersion.V6)) {
            String prefix = ns.value() + "-" + v;
            try (RedisBackend backend = RedisBackend.create(
                    TestConfigs.fast(redis.uri(), prefix).sidekiqVersion(v).build())) {
                boolean millis = v == SidekiqVersion.V8;
                backend.queue().enqueue(Job.of("Flaky", 1));
                JsonNode queued = JSON.readTree(backend.redis().lindex(prefix + ":queue:default", 0));
                assertStamp(millis, queued, "created_at");
                assertStamp(millis, queued, "enqueued_at");

                WorkerRegistry registry = WorkerRegistry.builder()
                        .register("Flaky", (args, ctx) -> {
                            throw new IllegalStateException("no");
                        })
                        .register(
                                "Doomed",
                                (args, ctx) -> {
                                    throw new IllegalStateException("never");
                                },
                                WorkerOptions.custom().maxRetries(0).build())
                        .build();
                ExecutionCore core = ExecutionCore.builder(registry)
                        .retryPolicy(RetryPolicy.fixed(Duration.ZERO))
                        .build();
                // Flaky fails twice (failed_at, then retried_at) before it is looked at; Doomed dies at once.
                // The retry cycles between the retry set and the queue: keep the entry the condition saw.
                AtomicReference<JsonNode> seen = new AtomicReference<>();
                try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1)) {
                    workers.start();
                    backend.queue().enqueue(Job.of("Doomed", 2));
                    await().atMost(Duration.ofSeconds(20)).until(() -> {
                        JsonNode r = retried(backend, prefix);
                        if (backend.admin().deadSize() == 1 && r != null && r.has("retried_at")) {
                            seen.set(r);
                            return true;
                        }
                        return false;
                    });
                }
                JsonNode retry = seen.get();
                assertStamp(millis, retry, "failed_at");
                assertStamp(millis, retry, "retried_at");
                JsonNode dead = JSON.readTree(
                        backend.redis().zrange(prefix + ":dead", 0, 0).get(0));
                assertStamp(millis, dead, "failed_at");
                double score = backend.redis()
                        .zscore(
                                prefix + ":dead",
                                backend.redis().zrange(prefix + ":dead", 0, 0).get(0));
                assertTrue(score > 1.7e9 && score < 1e10, "dead score stays epoch seconds: " + score);
                assertEquals(v, backend.sidekiqVersion());
            }
        }
    }

    private static JsonNode retried(RedisBackend backend, String prefix) throws Exception {
        List<String> r = backend.redis().zrange(prefix + ":retry", 0, 0);
        return r.isEmpty() ? null : JSON.readTree(r.get(0));
    }

    @Test
    void detectionFollowsTheOldestRubySidekiqRegistered(RedisService redis, TestNamespace ns) throws Exception {
        String p = ns.value();
        RedisBackendConfig.Builder millisCodec = TestConfigs.fast(redis.uri(), p)
                .codec(JobCodec.builder()
                        .timestamps(JobCodec.Timestamps.MILLISECONDS)
                        .build());
        try (RedisBackend none =
                        RedisBackend.create(TestConfigs.fast(redis.uri(), p).build());
                RedisBackend noneMillis = RedisBackend.create(millisCodec.build())) {
            assertEquals(SidekiqVersion.DETECT, none.sidekiqVersion(), "no Ruby process: nothing detected");
            assertStamp(false, enqueued(none, p), "enqueued_at");
            assertStamp(true, enqueued(noneMillis, p), "enqueued_at"); // the codec's own choice while none is found
        }
        // A Crossfade process does not count; a Sidekiq 8 one does.
        register(redis, p, "java:1:a", "crossfade");
        assertEquals(
                SidekiqVersion.DETECT,
                RedisBackend.create(TestConfigs.fast(redis.uri(), p).build()).sidekiqVersion(),
                "Crossfade's own processes do not count");
        register(redis, p, "ruby:2:b", "8.1.7");
        try (RedisBackend eight =
                RedisBackend.create(TestConfigs.fast(redis.uri(), p).build())) {
            assertStamp(true, enqueued(eight, p), "enqueued_at");
            assertEquals(SidekiqVersion.V8, eight.sidekiqVersion());
        }
        // A fleet still running Sidekiq 6 next to 8: float seconds, which both read.
        register(redis, p, "ruby:3:c", "6.4.1");
        try (RedisBackend mixed =
                RedisBackend.create(TestConfigs.fast(redis.uri(), p).build())) {
            assertStamp(false, enqueued(mixed, p), "enqueued_at");
            assertEquals(SidekiqVersion.V6, mixed.sidekiqVersion());
        }
    }

    private static void register(RedisService redis, String p, String identity, String version) {
        try (RedisBackend raw =
                RedisBackend.create(TestConfigs.fast(redis.uri(), "").build())) {
            redis.clients.jedis.UnifiedJedis c = raw.redis();
            c.sadd(p + ":processes", identity);
            c.hset(p + ":" + identity, "info", "{\"identity\":\"" + identity + "\",\"version\":\"" + version + "\"}");
        }
    }

    private static JsonNode enqueued(RedisBackend backend, String p) throws Exception {
        backend.queue().enqueue(Job.of("Anything"));
        return JSON.readTree(backend.redis().lpop(p + ":queue:default"));
    }

    private static void assertStamp(boolean millis, JsonNode job, String field) {
        JsonNode t = job.get(field);
        if (millis) {
            assertTrue(
                    t != null && t.isIntegralNumber() && t.asLong() > 1_700_000_000_000L,
                    field + " is integer milliseconds: " + job);
        } else {
            assertTrue(
                    t != null && t.isFloatingPointNumber() && t.asDouble() > 1.7e9 && t.asDouble() < 1e10,
                    field + " is float seconds: " + job);
        }
    }
}
