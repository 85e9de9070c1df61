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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Group mode with the default ordering gives a Sidekiq user's {@code concurrency}: as many jobs at once as threads,
 * however few partitions, while jobs of one routing key keep their enqueue order.
 */
@ExtendWith(CrossfadeServices.class)
class GroupConcurrencyTest {

    @Test
    void tenThreadsOnSixPartitionsRunTenJobsAtOnce(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .partitions(6)
                        .build())) {
            AtomicInteger running = new AtomicInteger();
            AtomicInteger most = new AtomicInteger();
            AtomicInteger done = new AtomicInteger();
            // Each job holds its thread until all ten run at once (or gives up after a bound, failing the count).
            CountDownLatch allRunning = new CountDownLatch(10);
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Sleeper", (a, ctx) -> {
                        most.accumulateAndGet(running.incrementAndGet(), Math::max);
                        allRunning.countDown();
                        allRunning.await(20, TimeUnit.SECONDS);
                        running.decrementAndGet();
                        done.incrementAndGet();
                    })
                    .build();
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                jobs.add(Job.of("Sleeper", i));
            }
            backend.queue().enqueueAll(jobs);
            WorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 10);
            workers.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> done.get() == 10);
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
            assertEquals(10, most.get(), "jobs running at once with 10 threads on 6 partitions");
        }
    }

    @Test
    void jobsSharingARoutingKeyRunInEnqueueOrder(KafkaService kafka, TestNamespace ns) throws InterruptedException {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .partitions(6)
                        .build())) {
            Map<String, List<Integer>> seen = new ConcurrentHashMap<>();
            Map<String, AtomicInteger> busy = new ConcurrentHashMap<>();
            List<String> overlaps = new CopyOnWriteArrayList<>();
            AtomicInteger done = new AtomicInteger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Ordered", (a, ctx) -> {
                        String key = a.get(0, String.class);
                        int seq = a.get(1).asInt();
                        if (busy.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() > 1) {
                            overlaps.add(key + "#" + seq);
                        }
                        seen.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>())
                                .add(seq);
                        // Later jobs of the key would overtake this one if they were allowed to run beside it.
                        Thread.sleep(20);
                        busy.get(key).decrementAndGet();
                        done.incrementAndGet();
                    })
                    .build();
            List<String> keys = List.of("account-1", "account-2", "account-3", "account-4");
            int perKey = 15;
            // Half the jobs wait in the topic (one poll brings several of a key), the rest arrive one by one while
            // earlier jobs of their key still run (each poll brings one, to wait behind the running one).
            for (int i = 0; i < perKey / 2; i++) {
                enqueueWave(backend, keys, i);
            }
            WorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 10);
            workers.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> done.get() > 0);
                for (int i = perKey / 2; i < perKey; i++) {
                    enqueueWave(backend, keys, i);
                }
                await().atMost(Duration.ofSeconds(60)).until(() -> done.get() == keys.size() * perKey);
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
            List<Integer> inOrder = new ArrayList<>();
            for (int i = 0; i < perKey; i++) {
                inOrder.add(i);
            }
            for (String k : keys) {
                assertEquals(inOrder, seen.get(k), "jobs of " + k + " in enqueue order");
            }
            assertEquals(List.of(), overlaps, "jobs of one key never ran at the same time");
        }
    }

    private static void enqueueWave(KafkaBackend backend, List<String> keys, int seq) {
        for (String k : keys) {
            backend.queue()
                    .enqueue(Job.builder("Ordered").args(k, seq).routingKey(k).build());
        }
    }
}
