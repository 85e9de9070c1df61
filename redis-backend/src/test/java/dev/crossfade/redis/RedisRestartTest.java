package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.TestNamespace;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Redis crashes (SIGKILL) mid-run and comes back with its append-only file ({@code appendfsync always}): workers
 * reconnect on their own, in-flight acknowledgements are retried rather than dropped, and every job runs.
 */
class RedisRestartTest {

    @Test
    void redisCrashAndRestartMidRunLosesNoJob() throws Exception {
        try (LocalRedis redis = LocalRedis.builder()
                        .appendOnly(true)
                        .fsyncAlways(true)
                        .build()
                        .start();
                RedisBackend backend = RedisBackend.create(TestConfigs.fast(
                                redis.uri(), TestNamespace.random("restart").value())
                        .build())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                jobs.add(Job.builder(CountingWorkers.COUNTED).args(10L).build());
            }
            // A job that is running while Redis is down: its acknowledgement must wait for Redis, not be dropped.
            CountDownLatch heldStarted = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger heldRuns = new AtomicInteger();
            String held = backend.queue().enqueue(Job.of("Held"));
            List<String> jids = new ArrayList<>(backend.queue().enqueueAll(jobs));
            String runs = CountingWorkers.runsKey(backend);
            ExecutionCore core = ExecutionCore.builder(CountingWorkers.builder(backend)
                            .register("Held", (args, ctx) -> {
                                heldRuns.incrementAndGet();
                                heldStarted.countDown();
                                release.await();
                            })
                            .build())
                    .retryPolicy(RetryPolicy.fixed(Duration.ofMillis(200)))
                    .build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 4)) {
                workers.start();
                assertTrue(heldStarted.await(30, TimeUnit.SECONDS));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.redis().hlen(runs) >= 50);

                redis.kill();
                release.countDown();
                EnqueueException refused = assertThrows(
                        EnqueueException.class, () -> backend.queue().enqueue(Job.of(CountingWorkers.COUNTED, 1L)));
                assertTrue(
                        refused.getMessage().contains("LPUSH")
                                && refused.getMessage().contains(redis.uri().toString()),
                        "names the operation and the server: " + refused.getMessage());
                redis.start();

                long afterRestart = backend.redis().hlen(runs);
                assertTrue(afterRestart < jids.size(), "the crash happened mid-run (" + afterRestart + " done)");
                jids.add(backend.queue().enqueue(Job.of(CountingWorkers.COUNTED, 1L)));
                await().atMost(Duration.ofSeconds(60))
                        .until(() -> backend.redis().hkeys(runs).containsAll(jids));
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.redis().llen(inProgress) == 0);
            }
            assertEquals(1, heldRuns.get(), "the job running during the outage was acknowledged after it, not rerun");
            assertEquals(Set.copyOf(jids), backend.redis().hkeys(runs), "every job ran, none lost");
            assertEquals(0, backend.admin().deadSize());
            assertEquals(0, backend.admin().retrySize() + backend.admin().scheduledSize());
        }
    }

    /**
     * A fetch whose reply is lost (Redis moved the job into this process's in-progress list, then the connection
     * dropped) must not strand the job for as long as the process lives: once fetching works again the process finds
     * the job it does not hold and pushes it back. Simulated by putting a job in the running process's in-progress
     * list directly, then restarting Redis so that a fetch fails.
     */
    @Test
    void aJobMovedByAFetchWhoseReplyWasLostRunsWithoutWaitingForTheProcessToStop() throws Exception {
        try (LocalRedis redis = LocalRedis.builder()
                        .appendOnly(true)
                        .fsyncAlways(true)
                        .build()
                        .start();
                RedisBackend backend = RedisBackend.create(TestConfigs.fast(
                                redis.uri(), TestNamespace.random("orphan").value())
                        .build())) {
            String runs = CountingWorkers.runsKey(backend);
            ExecutionCore core =
                    ExecutionCore.builder(CountingWorkers.registry(backend)).build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 2)) {
                workers.start();
                String before = backend.queue().enqueue(Job.of(CountingWorkers.COUNTED, 1L));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.redis().hexists(runs, before));

                Job orphan = Job.of(CountingWorkers.COUNTED, 2L);
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                backend.redis()
                        .lpush(
                                inProgress.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                JobCodec.defaults().encodeEnqueued(orphan, Instant.now()));
                redis.kill();
                redis.start();

                // The test's own pooled connections are stale after the restart too.
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> backend.redis().hexists(runs, orphan.jid()));
                await().atMost(Duration.ofSeconds(10))
                        .ignoreExceptions()
                        .until(() -> backend.redis().llen(inProgress) == 0);
                assertEquals("1", backend.redis().hget(runs, orphan.jid()), "ran once");
            }
        }
    }

    /**
     * Redis restarts without its data (no persistence, or a failover to a replica that had not caught up) while a
     * process holds fetched jobs it has not started. Its next beat finds its registration gone, but no peer recovered
     * it: nobody queued those jobs again, so it must run them rather than drop them.
     */
    @Test
    void jobsFetchedBeforeRedisLostItsDataStillRun() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().build().start();
                RedisBackend backend = RedisBackend.create(TestConfigs.fast(
                                redis.uri(), TestNamespace.random("amnesia").value())
                        .fetchBatchSize(10)
                        .build())) {
            CountDownLatch blocked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            java.util.Map<String, AtomicInteger> runs = new java.util.concurrent.ConcurrentHashMap<>();
            ExecutionCore core = ExecutionCore.builder(dev.crossfade.api.worker.WorkerRegistry.builder()
                            .register("Blocker", (args, ctx) -> {
                                blocked.countDown();
                                release.await();
                            })
                            .register(
                                    "Quick",
                                    (args, ctx) -> runs.computeIfAbsent(ctx.jid(), k -> new AtomicInteger())
                                            .incrementAndGet())
                            .build())
                    .build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1)) {
                workers.start();
                backend.queue().enqueue(Job.of("Blocker"));
                assertTrue(blocked.await(10, TimeUnit.SECONDS));
                List<String> quick = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    quick.add(backend.queue().enqueue(Job.of("Quick", i)));
                }
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.redis().llen(inProgress) == 6);

                redis.kill();
                redis.start(); // empty: no append-only file
                String beats = backend.key("crossfade:beats");
                await().atMost(Duration.ofSeconds(30))
                        .ignoreExceptions()
                        .until(() -> backend.redis().zscore(beats, workers.identity()) != null);
                release.countDown();
                await().atMost(Duration.ofSeconds(20)).until(() -> runs.keySet().containsAll(quick));
                assertEquals(
                        java.util.Set.of(1),
                        java.util.Set.copyOf(
                                runs.values().stream().map(AtomicInteger::get).toList()),
                        "each ran once");
            }
        }
    }
}
