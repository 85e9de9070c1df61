package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.codec.PayloadTooLargeException;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.kafka.internal.RecordSize;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A job whose outcome the broker can never take still ends in the DLQ, with the reason, and its partition moves on;
 * an enqueue that would leave no room for a failure's error fields is refused up front.
 */
@ExtendWith(CrossfadeServices.class)
class OutcomeSizeTest {
    private static final String QUEUE = "default";
    /** What a failing run adds to the job: 4,000 chars of error message, the most the core keeps. */
    private static final String LONG_ERROR = "boom ".repeat(800);

    private static String prefix(TestNamespace ns) {
        return ns.value();
    }

    /**
     * Two jobs just under {@code max.request.size}, produced raw (as another producer may), fail with a long error:
     * their retry and their dead letter grow past the limit. Both end in the DLQ as truncated envelopes naming the
     * fault, and the good job behind them on the one partition runs.
     */
    @Test
    void aJobThatGrowsPastTheLimitOnFailureEndsInTheDlqAndItsPartitionMovesOn(KafkaService kafka, TestNamespace ns)
            throws Exception {
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                        .partitions(1)
                        .build())) {
            backend.topics().ensure(QUEUE);
            String topic = backend.topics().jobs(QUEUE);
            int near = 1024 * 1024 - 2_000;
            Job retried =
                    Job.builder("GrowingWorker").args("r".repeat(near - 200)).build();
            Job dead = Job.builder("GrowingWorker")
                    .args("d".repeat(near - 200))
                    .retry(0)
                    .build();
            Job after = Job.of("FineWorker", "after");
            Map<String, Long> offsets = new HashMap<>();
            Map<String, Object> props = new HashMap<>();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            try (KafkaProducer<byte[], byte[]> raw =
                    new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (Job j : List.of(retried, dead, after)) {
                    byte[] value = JobCodec.defaults().encodeEnqueued(j, Instant.now());
                    assertTrue(
                            j == after || value.length < 1024 * 1024 && value.length > near - 300,
                            "size " + value.length);
                    offsets.put(
                            j.jid(),
                            raw.send(new ProducerRecord<>(topic, 0, null, value))
                                    .get(30, TimeUnit.SECONDS)
                                    .offset());
                }
            }
            Set<String> ran = ConcurrentHashMap.newKeySet();
            WorkerRuntime workers = workers(backend, ran);
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> ran.contains(after.jid()));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.admin().deadLetters(QUEUE, 10).size() == 2);
                Map<String, DeadLetter> byJid = new HashMap<>();
                backend.admin()
                        .deadLetters(QUEUE, 10)
                        .forEach(d -> byJid.put(d.job().jid(), d));
                assertTruncated(
                        byJid.get(retried.jid()),
                        "retry write refused: record too large (",
                        offsets.get(retried.jid()));
                assertTruncated(
                        byJid.get(dead.jid()),
                        "dead letter write refused: record too large (",
                        offsets.get(dead.jid()));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.admin().lag(QUEUE).stream()
                                .allMatch(l -> l.committedOffset() == l.endOffset()));
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
        }
    }

    /**
     * The broker itself refuses the retry (its delay topics take small records only): a final error, so the job goes
     * to the DLQ truncated with the broker's reason, where its write used to be retried forever.
     */
    @Test
    void aRetryTheBrokerRefusesEndsInTheDlqAndItsPartitionMovesOn(KafkaService kafka, TestNamespace ns)
            throws Exception {
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                        .partitions(1)
                        .build())) {
            backend.topics().ensure(QUEUE);
            try (Admin admin = Admin.create(backend.clients().admin())) {
                Map<ConfigResource, Collection<AlterConfigOp>> small = new HashMap<>();
                for (String t : backend.topics().delayTopics(QUEUE)) {
                    small.put(
                            new ConfigResource(ConfigResource.Type.TOPIC, t),
                            List.of(new AlterConfigOp(
                                    new ConfigEntry("max.message.bytes", "20000"), AlterConfigOp.OpType.SET)));
                }
                admin.incrementalAlterConfigs(small).all().get(30, TimeUnit.SECONDS);
            }
            Job big = Job.builder("GrowingWorker").args("b".repeat(50_000)).build();
            Job after = Job.of("FineWorker", "after");
            long offset = backend.admin().lag(QUEUE).get(0).endOffset();
            backend.queue().enqueue(big);
            backend.queue().enqueue(after);
            Set<String> ran = ConcurrentHashMap.newKeySet();
            WorkerRuntime workers = workers(backend, ran);
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> ran.contains(after.jid()));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.admin().deadLetters(QUEUE, 10).size() == 1);
                assertTruncated(
                        backend.admin().deadLetters(QUEUE, 10).get(0),
                        "retry write refused: record too large (",
                        offset);
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
        }
    }

    /**
     * Enqueues are held to {@code max.request.size} less the room a failure needs, whatever the producers' size:
     * beyond it, a {@code PayloadTooLargeException} before anything is sent.
     */
    @Test
    void anEnqueueThatLeavesNoRoomForAFailureIsRefused(KafkaService kafka, TestNamespace ns) {
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            KafkaJobQueue queue = backend.queue();
            queue.enqueue(Job.of("AnyWorker", "x".repeat(1_000_000)));
            PayloadTooLargeException e = assertThrows(
                    PayloadTooLargeException.class, () -> queue.enqueue(Job.of("AnyWorker", "x".repeat(1_020_000))));
            assertEquals(1024 * 1024 - RecordSize.ERROR_ROOM, e.limit(), e.getMessage());
            assertThrows(
                    PayloadTooLargeException.class,
                    () -> queue.enqueueAt(
                            Job.of("AnyWorker", "x".repeat(1_020_000)),
                            Instant.now().plusSeconds(60)));
            assertThrows(
                    PayloadTooLargeException.class,
                    () -> queue.enqueueAll(
                            List.of(Job.of("AnyWorker", "small"), Job.of("AnyWorker", "x".repeat(1_020_000)))));
        }
        try (KafkaBackend backend = KafkaBackend.create(
                KafkaFixture.config(kafka.bootstrapServers(), prefix(ns) + ".small", KafkaBackendConfig.Mode.GROUP)
                        .producerProperty("max.request.size", 200_000)
                        .build())) {
            KafkaJobQueue queue = backend.queue();
            queue.enqueue(Job.of("AnyWorker", "x".repeat(160_000)));
            PayloadTooLargeException e = assertThrows(
                    PayloadTooLargeException.class, () -> queue.enqueue(Job.of("AnyWorker", "x".repeat(170_000))));
            assertEquals(200_000 - RecordSize.ERROR_ROOM, e.limit(), e.getMessage());
        }
    }

    private static void assertTruncated(DeadLetter d, String reason, long sourceOffset) {
        assertTrue(d != null, "a dead letter");
        Job env = d.job();
        assertEquals(DeadLetter.TRUNCATED_JOB_CLASS, env.className());
        assertTrue(env.errorMessage().startsWith(reason), env.errorMessage());
        assertTrue(env.errorMessage().contains("the job's error: boom boom"), env.errorMessage());
        assertEquals(IllegalStateException.class.getName(), env.errorClass());
        assertEquals("GrowingWorker", env.args().get(0).textValue());
        assertTrue(env.args().get(1).textValue().length() < 2_100, "a preview of the args");
        assertEquals(QUEUE, env.queue());
        assertEquals("GrowingWorker", d.headers().get("original-class"));
        assertEquals(IllegalStateException.class.getName(), d.headers().get("error-class"));
        assertTrue(
                d.headers().get("error-message").startsWith(reason), d.headers().get("error-message"));
        assertEquals(Long.toString(sourceOffset), d.headers().get("source-offset"));
    }

    private static WorkerRuntime workers(KafkaBackend backend, Set<String> ran) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("GrowingWorker", (args, ctx) -> {
                    throw new IllegalStateException(LONG_ERROR);
                })
                .register("FineWorker", (args, ctx) -> ran.add(ctx.jid()))
                .build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), Set.of(QUEUE), 2);
        r.start();
        return r;
    }
}
