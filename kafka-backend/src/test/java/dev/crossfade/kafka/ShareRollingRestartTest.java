package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Rolling restarts of share-group workers spend no delivery attempt: two runtimes share a queue's topic while jobs
 * flow faster than they run (so each holds a full batch at every stop), and are restarted one at a time, gracefully,
 * six times. With a delivery limit of 2, any record a stop handed back unstarted would be dead-lettered on its next
 * delivery without having run. Every job runs, none is dead-lettered, none is lost.
 */
@ExtendWith(CrossfadeServices.class)
class ShareRollingRestartTest {
    private static final int THREADS = 4;

    @Test
    void rollingRestartsUnderLoadRunEveryJobAndDeadLetterNone(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = ns.value();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.SHARE)
                        .shareDeliveryLimit(2)
                        .shutdownTimeout(Duration.ofSeconds(20))
                        .meterRegistry(meters)
                        .build())) {
            Ledger runs = new Ledger();
            List<String> jids = new CopyOnWriteArrayList<>();
            // A backlog first, so every stop finds its runtime with a full batch acquired.
            jids.addAll(backend.queue().enqueueAll(batch(2_000)));
            AtomicBoolean feeding = new AtomicBoolean(true);
            Thread feeder = new Thread(
                    () -> {
                        while (feeding.get()) {
                            jids.addAll(backend.queue().enqueueAll(batch(50)));
                            sleep(100);
                        }
                    },
                    "feeder");
            WorkerRuntime[] members = {member(backend, runs), member(backend, runs)};
            List<Integer> unclean = new ArrayList<>();
            feeder.start();
            try {
                for (int round = 0; round < 6; round++) {
                    sleep(1_500);
                    int i = round % 2;
                    if (!members[i].stop(Duration.ofSeconds(20))) {
                        unclean.add(round);
                    }
                    members[i] = member(backend, runs);
                }
            } finally {
                feeding.set(false);
                feeder.join();
            }
            try {
                long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
                while (!runs.completedAll(jids) && System.nanoTime() < deadline) {
                    sleep(200);
                }
                List<DeadLetter> dead = backend.admin().deadLetters("default", 100);
                assertEquals(List.of(), dead, "dead-lettered");
                assertEquals(List.of(), runs.missing(jids), "lost");
                assertEquals(List.of(), unclean, "rounds whose stop handed back unfinished jobs");
                System.out.printf(
                        "share rolling restarts: %d jobs, duplicates %d, released at stops %.0f%n",
                        jids.size(),
                        runs.duplicates().size(),
                        meters.find("crossfade.kafka.share.released").counters().stream()
                                .mapToDouble(c -> c.count())
                                .sum());
            } finally {
                for (WorkerRuntime m : members) {
                    m.stop(Duration.ofSeconds(20));
                }
            }
        }
    }

    private static List<Job> batch(int n) {
        List<Job> jobs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            jobs.add(Job.of("CountingWorker", i));
        }
        return jobs;
    }

    /** A share runtime of {@value #THREADS} threads whose jobs take 20 ms. */
    private static WorkerRuntime member(KafkaBackend backend, Ledger runs) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("CountingWorker", (a, ctx) -> {
                    Thread.sleep(20);
                    runs.complete(runs.start(a, ctx));
                })
                .build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), THREADS);
        r.start();
        return r;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
