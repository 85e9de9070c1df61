package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.Ledger;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Share mode keeps the acquisition locks of a batch while its jobs run: jobs that outlast the lock, or wait behind
 * such jobs in their chunk, still run once, though a second consumer of the group polls all along.
 */
@ExtendWith(CrossfadeServices.class)
class ShareLockRenewalTest {
    private static final long LOCK_MILLIS = 2_000;

    @Test
    void jobsOutlastingTheLockRunOnceWhileAnotherConsumerWaits(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = ns.value();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        // One partition: the second consumer shares it, rather than taking it over. A renewal needs the partition to
        // stay with its consumer (the renewed records come back through that consumer's fetch).
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.SHARE)
                        .partitions(1)
                        .groupConfig("share.record.lock.duration.ms", Long.toString(LOCK_MILLIS))
                        .meterRegistry(meters)
                        .build())) {
            List<String> jids = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                jids.add(backend.queue().enqueue(Job.of("SlowWorker", i)));
            }
            Ledger runs = new Ledger();
            CountDownLatch started = new CountDownLatch(1);
            // Two threads for four jobs: each chunk runs two jobs back to back, so the second waits a whole job
            // (longer than the lock) before it starts, and each job itself outlasts the lock.
            WorkerRuntime first = slowWorkers(backend, runs, started, 2);
            WorkerRuntime second = null;
            try {
                first.start();
                assertTrue(started.await(30, TimeUnit.SECONDS), "the first consumer started a job");
                second = slowWorkers(backend, runs, new CountDownLatch(1), 2);
                second.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!runs.completedAll(jids) && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(runs.completedAll(jids), "every job ran");
                // Past the point where expired locks would have handed the jobs to the second consumer.
                Thread.sleep(2 * LOCK_MILLIS);
                assertEquals(Map.of(), runs.duplicates(), "no job ran twice");
                assertTrue(renewals(meters, "renewed") > 0, "locks were renewed");
                assertEquals(0.0, renewals(meters, "lost"), "no renewal came too late");
            } finally {
                first.stop(Duration.ofSeconds(10));
                if (second != null) {
                    second.stop(Duration.ofSeconds(10));
                }
            }
        }
    }

    private static double renewals(SimpleMeterRegistry meters, String outcome) {
        return meters.find("crossfade.kafka.share.lock.renewals").tag("outcome", outcome).counters().stream()
                .mapToDouble(c -> c.count())
                .sum();
    }

    /** Workers of class {@code SlowWorker}, each run taking 1.5 locks. */
    private static WorkerRuntime slowWorkers(KafkaBackend backend, Ledger runs, CountDownLatch started, int threads) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("SlowWorker", (a, ctx) -> {
                    started.countDown();
                    Thread.sleep(LOCK_MILLIS * 3 / 2);
                    runs.complete(runs.start(a, ctx));
                })
                .build();
        return backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), threads);
    }
}
