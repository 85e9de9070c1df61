package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A fleet where Ruby Sidekiq and Java work the same queue: a job whose class only Ruby knows, fetched by a Java worker,
 * ends where Sidekiq would put it (the retry set under its own retry policy, or nowhere for {@code retry: false}), and
 * a Ruby process then runs it. Ruby's Sidekiq uses Redis's root keys, so the test has a private Redis.
 */
class MixedFleetTest {
    private static LocalRedis redis;

    @BeforeAll
    static void rubyAndRedis() {
        Ruby.requireSidekiq();
        redis = LocalRedis.builder().build().start();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    void aRubyOnlyClassFetchedByJavaIsRetriedForRubyOrDiscardedAsSidekiqDoes() throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), "").build())) {
            backend.redis().flushAll();
            List<String> retried = new ArrayList<>();
            List<String> discarded = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                retried.add(backend.queue()
                        .enqueue(Job.builder("JavaEnqueuedWorker")
                                .args(i)
                                .retry(5)
                                .build()));
                discarded.add(backend.queue()
                        .enqueue(Job.builder("JavaEnqueuedWorker")
                                .args(i)
                                .retry(false)
                                .build()));
            }
            // A Java process that knows no Ruby class takes every job first.
            ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder().build())
                    .retryPolicy(RetryPolicy.fixed(Duration.ofSeconds(1)))
                    .build();
            try (RedisWorkerRuntime java = backend.workers(core, List.of("default"), 2)) {
                java.start();
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.redis().llen("queue:default") == 0
                                && backend.admin().retrySize() == 10);
                java.stop(Duration.ofSeconds(5));
            }
            assertEquals(0, backend.admin().deadSize(), "nothing dead: retry: 5 retries, retry: false discards");
            assertEquals(10, backend.admin().retrySize());

            Path log = Files.createTempFile("sidekiq-", ".log");
            Process sidekiq = Ruby.sidekiq(redis.uri(), "default", log);
            try {
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> !sidekiq.isAlive()
                                || backend.redis().smembers("test:ruby-ran").containsAll(retried));
                assertTrue(sidekiq.isAlive(), "sidekiq exited early:\n" + Files.readString(log));
            } finally {
                sidekiq.destroy();
                if (!sidekiq.waitFor(30, TimeUnit.SECONDS)) {
                    sidekiq.destroyForcibly();
                }
            }
            Set<String> ran = backend.redis().smembers("test:ruby-ran");
            assertTrue(ran.containsAll(retried), "Ruby ran every job Java put in the retry set");
            assertTrue(discarded.stream().noneMatch(ran::contains), "retry: false jobs were discarded, as in Sidekiq");
        }
    }

    @Test
    void shadowCopiesOnRedisAreRunByCrossfadeAndNeverByRubySidekiq() throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), "").build())) {
            backend.redis().flushAll();
            List<String> shadows = new ArrayList<>();
            List<String> real = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                shadows.add(backend.queue()
                        .enqueue(Job.builder("JavaEnqueuedWorker")
                                .args(i)
                                .shadow(true)
                                .build()));
                real.add(backend.queue()
                        .enqueue(Job.builder("JavaEnqueuedWorker").args(i).build()));
            }
            assertEquals(Set.of("default"), backend.redis().smembers("queues"), "Sidekiq Web lists no shadow queue");
            Path log = Files.createTempFile("sidekiq-", ".log");
            Process sidekiq = Ruby.sidekiq(redis.uri(), "default", log);
            try {
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> !sidekiq.isAlive()
                                || backend.redis().smembers("test:ruby-ran").containsAll(real));
                assertTrue(sidekiq.isAlive(), "sidekiq exited early:\n" + Files.readString(log));
                // Ruby works "default": it drained the real jobs and must not have touched a shadow copy.
                Thread.sleep(1_000);
            } finally {
                sidekiq.destroy();
                if (!sidekiq.waitFor(30, TimeUnit.SECONDS)) {
                    sidekiq.destroyForcibly();
                }
            }
            Set<String> rubyRan = backend.redis().smembers("test:ruby-ran");
            assertTrue(shadows.stream().noneMatch(rubyRan::contains), "Ruby ran a shadow copy");

            java.util.Set<String> javaRan = java.util.concurrent.ConcurrentHashMap.newKeySet();
            ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                            .register(
                                    "JavaEnqueuedWorker",
                                    (args, ctx) -> javaRan.add(ctx.jid()),
                                    dev.crossfade.api.worker.WorkerOptions.custom()
                                            .shadowSafe(true)
                                            .build())
                            .build())
                    .build();
            try (RedisWorkerRuntime java = backend.workers(core, List.of("default"), 2)) {
                java.start();
                await().atMost(Duration.ofSeconds(30)).until(() -> javaRan.containsAll(shadows));
                java.stop(Duration.ofSeconds(5));
            }
        }
    }

    /** Malformed payloads a Java worker sent to the dead set read back through Sidekiq's own API, as Sidekiq Web does. */
    @Test
    void malformedPayloadsDeadInJavaAreReadableBySidekiqsDeadSet() throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), "").build())) {
            backend.redis().flushAll();
            List<dev.crossfade.tck.PayloadCorpus.Case> bad =
                    dev.crossfade.tck.PayloadCorpus.cases("Fine", "default", false).stream()
                            .filter(c -> c.fate() == dev.crossfade.tck.PayloadCorpus.Fate.DEAD)
                            .limit(60)
                            .toList();
            for (dev.crossfade.tck.PayloadCorpus.Case c : bad) {
                backend.redis().lpush("queue:default".getBytes(java.nio.charset.StandardCharsets.UTF_8), c.payload());
            }
            ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                            .register("Fine", (a, ctx) -> {})
                            .build())
                    .build();
            try (RedisWorkerRuntime java = backend.workers(core, List.of("default"), 2)) {
                java.start();
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.admin().deadSize() == bad.size());
                java.stop(Duration.ofSeconds(5));
            }
            com.fasterxml.jackson.databind.JsonNode seen = Ruby.run(redis.uri(), "inspect.rb");
            com.fasterxml.jackson.databind.JsonNode dead = seen.get("dead");
            assertEquals(bad.size(), dead.size(), "Sidekiq::DeadSet lists every dead payload");
            for (com.fasterxml.jackson.databind.JsonNode e : dead) {
                // Malformed payloads are dead as crossfade.InvalidPayload; well-formed ones of an unknown class with
                // retry: 0 keep their class. Either way Sidekiq reads a class, a jid and the reason.
                assertTrue(!e.get("class").asText().isBlank(), "a class for " + e);
                assertTrue(!e.get("error_message").asText().isBlank(), "a reason for " + e);
                assertTrue(!e.get("jid").asText().isBlank(), "a jid for " + e);
            }
        }
    }
}
