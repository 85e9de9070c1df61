package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.Job;
import dev.crossfade.api.Transferred;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.Ledger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One queue at a time: each queue's Kafka workers form consumer groups of their own, so moving queue A off Kafka
 * needs only A's workers stopped while B's keep working.
 */
@ExtendWith(CrossfadeServices.class)
class QueuePerGroupTest {

    @Test
    void transferOfOneQueueWhileAnotherQueuesWorkersRunLosesNothing(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        try (KafkaBackend backend = KafkaBackend.create(
                FaultTestSupport.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            // Queue a's Kafka workers are stopped (or gone); some of its jobs still wait, one is scheduled.
            List<String> waiting = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                waiting.add(backend.queue()
                        .enqueue(
                                Job.builder("CountingWorker").queue("a").args(i).build()));
            }
            String later = backend.queue()
                    .enqueueIn(Job.builder("CountingWorker").queue("a").build(), Duration.ofHours(1));

            // Queue b's workers keep running throughout.
            Ledger runs = new Ledger();
            WorkerRuntime b = FaultTestSupport.countingWorkers(backend, runs, 0, Set.of("b"));
            try {
                List<String> bJobs = new ArrayList<>(enqueueB(backend, 50));
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.completedCount(bJobs) > 0);

                InMemoryBackend redis = InMemoryBackend.fake();
                Transferred moved = backend.admin().transfer("a", redis.queue());

                bJobs.addAll(enqueueB(backend, 50));
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.completedAll(bJobs));

                Set<String> arrived = new HashSet<>();
                redis.allPending().forEach(j -> arrived.add(j.jid()));
                redis.scheduled().forEach(j -> arrived.add(j.jid()));
                Set<String> expected = new HashSet<>(waiting);
                expected.add(later);
                assertEquals(expected, arrived, "queue a moved completely");
                assertEquals(1, moved.scheduled(), "the scheduled job of a moved from the delay tiers");
                assertEquals(List.of(), runs.missing(bJobs), "queue b kept working: lost 0");
            } finally {
                b.stop(Duration.ofSeconds(10));
            }
        }
    }

    @Test
    void workersTakeOverTheCommittedOffsetsOfTheEarlierSharedGroup(KafkaService kafka, TestNamespace ns)
            throws Exception {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        try (KafkaBackend backend = KafkaBackend.create(
                        FaultTestSupport.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                                .build());
                Admin admin = Admin.create(backend.clients().admin())) {
            // An earlier version's workers ran these, committing in the one group every queue shared.
            List<String> ran = enqueue(backend, "c", 10);
            String topic = backend.topics().jobs("c");
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < backend.config().partitions(); p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
            admin.listOffsets(latest)
                    .all()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, o) -> committed.put(tp, new OffsetAndMetadata(o.offset())));
            String legacy = backend.config().groupId();
            admin.alterConsumerGroupOffsets(legacy, committed).all().get(30, TimeUnit.SECONDS);
            List<String> fresh = enqueue(backend, "c", 5);

            Ledger runs = new Ledger();
            WorkerRuntime workers = FaultTestSupport.countingWorkers(backend, runs, 0, Set.of("c"));
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.completedAll(fresh));
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
            assertEquals(0, runs.completedCount(ran), "jobs the earlier version's workers ran, run again");
            assertEquals(
                    Map.of(),
                    admin.listConsumerGroupOffsets(legacy)
                            .partitionsToOffsetAndMetadata()
                            .get(30, TimeUnit.SECONDS),
                    "the earlier group's offsets, once taken over");
        }
    }

    private static List<String> enqueue(KafkaBackend backend, String queue, int n) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(Job.builder("CountingWorker").queue(queue).args(i).build());
        }
        return backend.queue().enqueueAll(jobs);
    }

    private static List<String> enqueueB(KafkaBackend backend, int n) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(Job.builder("CountingWorker").queue("b").args(i).build());
        }
        return backend.queue().enqueueAll(jobs);
    }
}
