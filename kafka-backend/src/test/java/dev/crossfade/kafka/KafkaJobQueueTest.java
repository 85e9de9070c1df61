package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.PayloadTooLargeException;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The asynchronous enqueue against a real broker: the future completes on the acks, with the jids in order. */
@ExtendWith(CrossfadeServices.class)
class KafkaJobQueueTest {

    @Test
    void enqueueAllAsyncCompletesWhenEveryJobIsOnTheTopic(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = ns.value();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                jobs.add(Job.of("W", i));
            }
            List<String> jids = backend.queue().enqueueAllAsync(jobs).get(30, TimeUnit.SECONDS);
            assertEquals(jobs.stream().map(Job::jid).toList(), jids);

            Set<String> onTopic = new HashSet<>();
            for (ConsumerRecord<byte[], byte[]> r : read(backend, prefix, jids.size())) {
                onTopic.add(key(r));
            }
            assertEquals(Set.copyOf(jids), onTopic, "the future completed only once every job was written");
        }
    }

    /**
     * A caller's limit is what is left of its deadline, a different duration on every call: calls share producers by
     * class of limit instead of making one producer per duration.
     */
    @Test
    void callsWithEverChangingLimitsShareAFewProducers(KafkaService kafka, TestNamespace ns) {
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), ns.value(), KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            for (int i = 0; i < 40; i++) {
                backend.queue().enqueueAll(List.of(Job.of("W", i), Job.of("W", -i)), Duration.ofMillis(9_000 + 7 * i));
            }
            assertTrue(backend.boundedProducerCount() <= 2, backend.boundedProducerCount() + " producers");
        }
    }

    @Test
    void aLimitClassNeverExceedsItsLimitNorFallsFarBelowIt() {
        for (long ms : new long[] {1, 7, 15, 16, 17, 999, 1000, 2000, 2047, 2048, 30_000, 123_456_789}) {
            long c = KafkaBackend.limitClass(Duration.ofMillis(ms)).toMillis();
            assertTrue(c <= ms && c * 8 >= ms * 7, ms + " ms -> " + c + " ms");
        }
    }

    /**
     * Batches go through a producer that lingers, and each call flushes what it sent (an asynchronous call, from the
     * flusher thread). With a linger longer than the test, a call that did not flush would never be acknowledged.
     */
    @Test
    void aBatchLeavesWithItsCallWhateverTheLinger(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = ns.value();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .enqueueTimeout(Duration.ofSeconds(60))
                        .producerProperty("linger.ms", 30_000)
                        .build())) {
            List<Job> sync = List.of(Job.of("W", 1), Job.of("W", 2), Job.of("W", 3));
            assertEquals(
                    sync.stream().map(Job::jid).toList(),
                    CompletableFuture.supplyAsync(() -> backend.queue().enqueueAll(sync))
                            .get(20, TimeUnit.SECONDS));
            for (int call = 0; call < 3; call++) {
                List<Job> async = List.of(Job.of("W", call), Job.of("W", call + 10));
                assertEquals(
                        async.stream().map(Job::jid).toList(),
                        backend.queue().enqueueAllAsync(async).get(20, TimeUnit.SECONDS));
            }
        }
    }

    /**
     * The record's key is the routing key, else the jid; one header names the attempt, the jid and the class (three
     * for a jid the one header cannot hold).
     */
    @Test
    void aRecordIsKeyedByRoutingKeyElseJidAndCarriesItsHeaders(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            Job plain = Job.of("PlainWorker", 1);
            Job keyed = Job.builder("KeyedWorker").args(2).routingKey("acct-7").build();
            Job spaced = Job.builder("Odd::Worker").jid("a jid with spaces").build();
            backend.queue().enqueueAll(List.of(plain, keyed, spaced));
            Map<String, ConsumerRecord<byte[], byte[]>> byKey = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r : read(backend, prefix, 3)) {
                byKey.put(key(r), r);
            }
            ConsumerRecord<byte[], byte[]> p = byKey.get(plain.jid());
            assertEquals(1, p.headers().toArray().length);
            assertEquals(
                    "1 " + plain.jid() + " PlainWorker",
                    text(p.headers().lastHeader("crossfade-job").value()));
            ConsumerRecord<byte[], byte[]> k = byKey.get("acct-7");
            assertEquals(
                    "1 " + keyed.jid() + " KeyedWorker",
                    text(k.headers().lastHeader("crossfade-job").value()));
            ConsumerRecord<byte[], byte[]> o = byKey.get("a jid with spaces");
            assertEquals(null, o.headers().lastHeader("crossfade-job"));
            assertEquals("Odd::Worker", text(o.headers().lastHeader("class").value()));
            assertEquals("a jid with spaces", text(o.headers().lastHeader("jid").value()));
            assertEquals("1", text(o.headers().lastHeader("attempt").value()));
        }
    }

    private static String key(ConsumerRecord<byte[], byte[]> r) {
        return text(r.key());
    }

    /** Reads at least {@code count} records of the default queue's topic from the start, or what arrives in 30 s. */
    private static List<ConsumerRecord<byte[], byte[]>> read(KafkaBackend backend, String prefix, int count) {
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(backend.clients().consumer(prefix + ".check", prefix + "-check"))) {
            String topic = backend.topics().jobs(Job.DEFAULT_QUEUE);
            List<TopicPartition> parts = c.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            c.assign(parts);
            c.seekToBeginning(parts);
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (out.size() < count && System.nanoTime() < deadline) {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
            }
        }
        return out;
    }

    private static String text(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * A write the broker refuses (over the topic's max.message.bytes, within the producers' limit) fails the future,
     * naming it. One over the producers' own limit is refused at the call, before anything is sent.
     */
    @Test
    void aRefusedWriteCompletesTheFutureExceptionallyNamingTheTopic(KafkaService kafka, TestNamespace ns)
            throws Exception {
        String prefix = ns.value();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            backend.topics().ensure(Job.DEFAULT_QUEUE);
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(
                    backend.clients().admin())) {
                admin.incrementalAlterConfigs(java.util.Map.of(
                                new org.apache.kafka.common.config.ConfigResource(
                                        org.apache.kafka.common.config.ConfigResource.Type.TOPIC,
                                        backend.topics().jobs(Job.DEFAULT_QUEUE)),
                                List.of(new org.apache.kafka.clients.admin.AlterConfigOp(
                                        new org.apache.kafka.clients.admin.ConfigEntry("max.message.bytes", "10000"),
                                        org.apache.kafka.clients.admin.AlterConfigOp.OpType.SET))))
                        .all()
                        .get(30, TimeUnit.SECONDS);
            }
            Job big = Job.of("W", "x".repeat(20_000));
            CompletableFuture<List<String>> f = backend.queue().enqueueAllAsync(List.of(Job.of("W", 1), big));
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
            EnqueueException cause = assertInstanceOf(EnqueueException.class, e.getCause());
            assertTrue(
                    cause.getMessage().contains(big.jid()) && cause.getMessage().contains(prefix + ".default"),
                    cause.getMessage());
        }
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), prefix + ".small", KafkaBackendConfig.Mode.GROUP)
                        .producerProperty("max.request.size", 10_000)
                        .build())) {
            assertThrows(
                    PayloadTooLargeException.class,
                    () -> backend.queue().enqueueAllAsync(List.of(Job.of("W", 1), Job.of("W", "x".repeat(20_000)))));
        }
    }

    @Test
    void anInvalidJobOrAClosedQueueIsRejectedByThrowing(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            KafkaJobQueue q = backend.queue();
            assertThrows(
                    PayloadTooLargeException.class,
                    () -> q.enqueueAllAsync(List.of(Job.of("W", 1), Job.of("W", "x".repeat(1_100_000)))));
            q.close();
            EnqueueException closed =
                    assertThrows(EnqueueException.class, () -> q.enqueueAllAsync(List.of(Job.of("W"))));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
        }
    }
}
