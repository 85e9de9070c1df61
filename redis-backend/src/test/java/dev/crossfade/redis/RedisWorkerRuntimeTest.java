package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Worker runtime behaviour beyond the contract: stats, metrics, shutdown order, Web UI signals, dead-set admin. */
@ExtendWith(CrossfadeServices.class)
class RedisWorkerRuntimeTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void statsAndMetricsCountOutcomes(RedisService redis, TestNamespace ns) {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).meterRegistry(meters).build())) {
            Worker ok = (args, ctx) -> {};
            Worker bad = (args, ctx) -> {
                throw new IllegalStateException("no");
            };
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Ok", ok)
                    .register("Flaky", bad)
                    .register(
                            "Doomed", bad, WorkerOptions.custom().maxRetries(0).build())
                    .build();
            backend.queue()
                    .enqueueAll(List.of(Job.of("Ok"), Job.of("Ok"), Job.of("Ok"), Job.of("Flaky"), Job.of("Doomed")));
            ExecutionCore core = ExecutionCore.builder(registry)
                    .retryPolicy(RetryPolicy.fixed(Duration.ofHours(1)))
                    .build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 2)) {
                workers.start();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> "5".equals(backend.redis().get(backend.key("stat:processed"))));
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> meters.find("crossfade.redis.queue.size").gauge() != null);
            }
            String today = LocalDate.now(ZoneOffset.UTC).toString();
            assertEquals("2", backend.redis().get(backend.key("stat:failed")));
            assertEquals("5", backend.redis().get(backend.key("stat:processed:" + today)));
            assertEquals("2", backend.redis().get(backend.key("stat:failed:" + today)));
            assertTrue(backend.redis().ttl(backend.key("stat:processed:" + today)) > 0, "per-day stats expire");
            assertEquals(
                    5.0,
                    meters.get("crossfade.redis.jobs.processed")
                            .tag("queue", "default")
                            .counter()
                            .count());
            assertEquals(
                    2.0, meters.get("crossfade.redis.jobs.failed").counter().count());
            assertEquals(
                    1.0, meters.get("crossfade.redis.jobs.retried").counter().count());
            assertEquals(1.0, meters.get("crossfade.redis.jobs.dead").counter().count());
            assertTrue(meters.get("crossfade.redis.fetch.latency").timer().count() > 0);
            assertEquals(
                    0.0,
                    meters.get("crossfade.redis.queue.size")
                            .tag("queue", "default")
                            .gauge()
                            .value());
        }
    }

    @Test
    void shutdownPushesUnfinishedJobsBackToTheFrontOfTheQueue(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            CountDownLatch started = new CountDownLatch(1);
            CountDownLatch never = new CountDownLatch(1);
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Stuck", (args, ctx) -> {
                        started.countDown();
                        never.await();
                    })
                    .build();
            String stuck = backend.queue().enqueue(Job.of("Stuck", 1));
            RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 1);
            workers.start();
            assertTrue(started.await(10, TimeUnit.SECONDS));
            String newer = backend.queue().enqueue(Job.of("Stuck", 2));

            assertFalse(workers.stop(Duration.ofMillis(100)), "the stuck job did not finish in time");
            String front = backend.redis().lindex(backend.key("queue:default"), -1);
            assertEquals(stuck, JSON.readTree(front).get("jid").asText(), "the unfinished job is fetched next");
            assertEquals(
                    2,
                    backend.redis().llen(backend.key("queue:default")),
                    "requeued once, newer job untouched: " + newer);
            assertEquals(0, backend.redis().zcard(backend.key("crossfade:beats")), "recovery registration removed");
            assertEquals(0, backend.redis().scard(backend.key("processes")), "heartbeat removed");
            assertEquals(0, backend.admin().retrySize(), "the interrupted run's late outcome was dropped");
        }
    }

    @Test
    void webUiQuietSignalStopsFetching(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            AtomicInteger runs = new AtomicInteger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Counted", (args, ctx) -> runs.incrementAndGet())
                    .build();
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 1)) {
                workers.start();
                backend.queue().enqueue(Job.of("Counted"));
                await().atMost(Duration.ofSeconds(10)).until(() -> runs.get() == 1);
                // What Sidekiq's Web UI "Quiet" button (Sidekiq::Process#quiet!) does.
                backend.redis().lpush(backend.key(workers.identity() + "-signals"), "TSTP");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> "true".equals(backend.redis().hget(backend.key(workers.identity()), "quiet")));
                backend.queue().enqueue(Job.of("Counted"));
                // The job stays queued across several fetch and heartbeat rounds.
                await().during(Duration.ofSeconds(1))
                        .atMost(Duration.ofSeconds(3))
                        .until(() -> backend.redis().llen(backend.key("queue:default")) == 1);
                assertEquals(1, runs.get());
            }
        }
    }

    @Test
    void deadJobsCanBeListedRetriedAndDeleted(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            AtomicInteger attempts = new AtomicInteger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register(
                            "OnceBroken",
                            (args, ctx) -> {
                                if (attempts.incrementAndGet() <= 2) {
                                    throw new IllegalStateException(
                                            "broken " + args.get(0).asText());
                                }
                            },
                            WorkerOptions.custom().maxRetries(0).build())
                    .build();
            String a = backend.queue().enqueue(Job.of("OnceBroken", "a"));
            String b = backend.queue().enqueue(Job.of("OnceBroken", "b"));
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 1)) {
                workers.start();
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.admin().deadSize() == 2);
                assertEquals(
                        List.of(a, b).stream().sorted().toList(),
                        backend.admin().dead(10).stream().map(Job::jid).sorted().toList());

                assertTrue(backend.admin().retryDead(a));
                await().atMost(Duration.ofSeconds(10)).until(() -> attempts.get() == 3);
                assertTrue(backend.admin().deleteDead(b));
                assertFalse(backend.admin().deleteDead(b), "already gone");
                assertFalse(backend.admin().retryDead("000000000000000000000000"));
            }
            assertEquals(0, backend.admin().deadSize());
        }
    }

    @Test
    void deadSetIsTrimmedBySizeAndAge(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value())
                .deadMaxJobs(3)
                .deadTimeout(Duration.ofDays(1))
                .build())) {
            byte[] deadKey = backend.key("dead").getBytes(java.nio.charset.StandardCharsets.UTF_8);
            Job ancient = Job.of("Ancient");
            backend.redis()
                    .zadd(
                            deadKey,
                            java.time.Instant.now().minus(Duration.ofDays(2)).getEpochSecond(),
                            dev.crossfade.api.codec.JobCodec.defaults().encode(ancient));
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register(
                            "Doomed",
                            (args, ctx) -> {
                                throw new IllegalStateException("no");
                            },
                            WorkerOptions.custom().maxRetries(0).build())
                    .build();
            List<String> jids = new java.util.ArrayList<>();
            try (RedisWorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), List.of("default"), 1)) {
                workers.start();
                for (int i = 0; i < 5; i++) {
                    jids.add(backend.queue().enqueue(Job.of("Doomed", i)));
                    String jid = jids.get(i);
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> backend.admin().dead(10).stream()
                                    .anyMatch(j -> j.jid().equals(jid)));
                }
            }
            assertEquals(
                    List.of(jids.get(4), jids.get(3), jids.get(2)),
                    backend.admin().dead(10).stream().map(Job::jid).toList(),
                    "the newest deadMaxJobs entries are kept, the entry older than deadTimeout is gone");
        }
    }
}
