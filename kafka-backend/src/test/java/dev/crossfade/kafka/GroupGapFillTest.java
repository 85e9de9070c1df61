package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A stop or a revoke abandons the jobs not yet started; in group mode with the default ordering, jobs of other keys
 * may have finished past one of them, and a commit covers only what lies below the first unfinished job. The stop or
 * revoke runs the jobs left behind before its commit, so the partition's next owner runs none of the finished ones
 * again.
 */
@ExtendWith(CrossfadeServices.class)
class GroupGapFillTest {
    private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    private final List<String> order = new CopyOnWriteArrayList<>();
    private final CountDownLatch slowStarted = new CountDownLatch(1);
    /** Slow jobs hold their thread until this opens, then for this long: past the stop's or revoke's abandoning. */
    private final CountDownLatch letSlowEnd = new CountDownLatch(1);

    private long slowTailMillis = 1_000;

    private final WorkerRegistry registry = WorkerRegistry.builder()
            .register("Slow", (a, ctx) -> {
                slowStarted.countDown();
                letSlowEnd.await(30, TimeUnit.SECONDS);
                Thread.sleep(slowTailMillis);
                ran(ctx.jid());
                order.add(a.get(0, String.class) + " slow");
            })
            .register("Fast", (a, ctx) -> {
                ran(ctx.jid());
                if (a.get(0, String.class).startsWith("account-")) {
                    order.add(a.get(0, String.class) + " after");
                }
            })
            .build();
    private final ExecutionCore core = ExecutionCore.builder(registry).build();

    private void ran(String jid) {
        runs.computeIfAbsent(jid, j -> new AtomicInteger()).incrementAndGet();
    }

    @Test
    void aStopRunsTheJobsLeftBehindFinishedOnes(KafkaService kafka, TestNamespace ns) throws Exception {
        try (KafkaBackend backend = backend(kafka, ns, 1)) {
            // Offset 0 holds its thread; offset 1, of the same key, waits behind it; the rest, each of a key of its
            // own, finish past offset 1 on the other thread.
            List<String> jids = new ArrayList<>(backend.queue().enqueueAll(jobs(1, "account-1", 20)));
            WorkerRuntime first = backend.workers(core, Set.of("default"), 2);
            first.start();
            await().atMost(Duration.ofSeconds(60)).until(() -> slowStarted.getCount() == 0 && runs.size() == 20);
            Thread stop = new Thread(() -> first.stop(Duration.ofSeconds(25)));
            stop.start();
            letSlowEnd.countDown();
            stop.join(TimeUnit.SECONDS.toMillis(40));

            jids.add(runNextWorker(backend));
            assertRanOnce(jids);
            assertEquals(List.of("account-1 slow", "account-1 after"), order, "jobs of one key in enqueue order");
        }
    }

    @Test
    void aRevokeRunsTheJobsLeftBehindFinishedOnes(KafkaService kafka, TestNamespace ns) throws Exception {
        slowTailMillis = 4_000; // the second worker joins and the rebalance revokes within it
        try (KafkaBackend backend = backend(kafka, ns, 2)) {
            // The same on each of two partitions, so that whichever one the joining worker takes has a gap.
            List<Job> jobs = new ArrayList<>();
            List<String> keys = new ArrayList<>();
            for (int p = 0; p < 2; p++) {
                String key = keysOn(p, "account-", 1).get(0);
                keys.add(key);
                jobs.addAll(jobs(p, key, 10));
            }
            List<String> jids = new ArrayList<>(backend.queue().enqueueAll(jobs));
            WorkerRuntime first = backend.workers(core, Set.of("default"), 4);
            WorkerRuntime second = backend.workers(core, Set.of("default"), 4);
            first.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> runs.size() == 20);
                second.start();
                letSlowEnd.countDown();
                await().atMost(Duration.ofSeconds(60)).until(() -> runs.size() == 24);
                String last = backend.queue().enqueue(Job.of("Fast", "last"));
                jids.add(last);
                await().atMost(Duration.ofSeconds(60)).until(() -> runs.containsKey(last));
            } finally {
                second.stop(Duration.ofSeconds(10));
                first.stop(Duration.ofSeconds(10));
            }
            assertRanOnce(jids);
            for (String key : keys) {
                assertEquals(
                        List.of(key + " slow", key + " after"),
                        order.stream().filter(o -> o.startsWith(key + " ")).toList(),
                        "jobs of one key in enqueue order");
            }
        }
    }

    private static KafkaBackend backend(KafkaService kafka, TestNamespace ns, int partitions) {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        return KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                .partitions(partitions)
                .build());
    }

    /** A slow job and the job of its key behind it, then {@code others} jobs of keys of their own, on partition p. */
    private static List<Job> jobs(int partition, String key, int others) {
        List<Job> jobs = new ArrayList<>();
        jobs.add(Job.builder("Slow").args(key).routingKey(key).build());
        jobs.add(Job.builder("Fast").args(key).routingKey(key).build());
        for (String k : keysOn(partition, "other-" + partition + "-", others)) {
            jobs.add(Job.builder("Fast").args(k).routingKey(k).build());
        }
        return jobs;
    }

    /** Keys that Kafka's default partitioner puts on {@code partition} of a two-partition topic (any, for one). */
    private static List<String> keysOn(int partition, String prefix, int n) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; keys.size() < n; i++) {
            String k = prefix + i;
            if (Utils.toPositive(Utils.murmur2(k.getBytes(StandardCharsets.UTF_8))) % 2 == partition) {
                keys.add(k);
            }
        }
        return keys;
    }

    /** Starts another worker of the group, enqueues one more job and returns its jid once it ran. */
    private String runNextWorker(KafkaBackend backend) {
        String last = backend.queue().enqueue(Job.of("Fast", "last"));
        WorkerRuntime next = backend.workers(core, Set.of("default"), 2);
        next.start();
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> runs.containsKey(last));
        } finally {
            next.stop(Duration.ofSeconds(10));
        }
        return last;
    }

    private void assertRanOnce(List<String> jids) {
        List<String> notOnce = new ArrayList<>();
        for (String jid : jids) {
            AtomicInteger n = runs.get(jid);
            if (n == null || n.get() != 1) {
                notOnce.add(jid + " ran " + (n == null ? 0 : n.get()) + " times");
            }
        }
        assertEquals(List.of(), notOnce, "jobs that did not run exactly once");
        assertEquals(jids.size(), runs.size(), "jobs run");
    }
}
