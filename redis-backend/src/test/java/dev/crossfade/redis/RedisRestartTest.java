package dev.crossfade.redis;

import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.TestNamespace;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Redis crashes (SIGKILL) mid-run and comes back with its append-only file ({@code appendfsync always}): workers
 * reconnect on their own, in-flight acknowledgements are retried rather than dropped, and every job runs.
 */
class RedisRestartTest {

    @Test
    void redisCrashAndRestartMidRunLosesNoJob() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().appendOnly(true).fsyncAlways(true).build().start();
             RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(),
                     TestNamespace.random("restart").value()).build())) {
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
            ExecutionCore core = ExecutionCore.builder(CountingWorkers.builder(backend).register("Held", (args, ctx) -> {
                heldRuns.incrementAndGet();
                heldStarted.countDown();
                release.await();
            }).build()).retryPolicy(RetryPolicy.fixed(Duration.ofMillis(200))).build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 4)) {
                workers.start();
                assertTrue(heldStarted.await(30, TimeUnit.SECONDS));
                await().atMost(Duration.ofSeconds(30)).until(() -> backend.redis().hlen(runs) >= 50);

                redis.kill();
                release.countDown();
                EnqueueException refused = assertThrows(EnqueueException.class,
                        () -> backend.queue().enqueue(Job.of(CountingWorkers.COUNTED, 1L)));
                assertTrue(refused.getMessage().contains("LPUSH") && refused.getMessage().contains(redis.uri().toString()),
                        "names the operation and the server: " + refused.getMessage());
                redis.start();

                long afterRestart = backend.redis().hlen(runs);
                assertTrue(afterRestart < jids.size(), "the crash happened mid-run (" + afterRestart + " done)");
                jids.add(backend.queue().enqueue(Job.of(CountingWorkers.COUNTED, 1L)));
                await().atMost(Duration.ofSeconds(60)).until(() -> backend.redis().hkeys(runs).containsAll(jids));
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                await().atMost(Duration.ofSeconds(10)).until(() -> backend.redis().llen(inProgress) == 0);
            }
            assertEquals(1, heldRuns.get(), "the job running during the outage was acknowledged after it, not rerun");
            assertEquals(Set.copyOf(jids), backend.redis().hkeys(runs), "every job ran, none lost");
            assertEquals(0, backend.admin().deadSize());
            assertEquals(0, backend.admin().retrySize() + backend.admin().scheduledSize());
        }
    }
}
