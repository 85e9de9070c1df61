package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Records with Crossfade's {@code crossfade-job} header (or, as earlier versions and other producers write them, its
 * {@code class}, {@code jid} and {@code attempt} headers) are run from those, their payload
 * decoded only when read. Behind valid headers, a corrupt payload still ends in the DLQ as an invalid payload with the
 * decode error, whether the worker reads its args, fails (which would otherwise retry it) or swallows the decode
 * error; a shadow copy in the jobs topic (as older versions wrote them) is still not run for real; a good record runs
 * once; every offset is committed and no thread dies.
 */
@ExtendWith(CrossfadeServices.class)
class HeaderDecodeTest {
    private static final String QUEUE = "default";

    private record Input(String worker, String jid, String body) {}

    @ParameterizedTest(name = "one header: {0}")
    @ValueSource(booleans = {true, false})
    void corruptPayloadsBehindValidHeadersEndDeadWithTheReason(boolean oneHeader, KafkaService kafka, TestNamespace ns)
            throws Exception {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase() + (oneHeader ? "-one" : "-three");
        List<Throwable> uncaught = new CopyOnWriteArrayList<>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(new AssertionError(t.getName(), e)));
        String good = JobCodec.defaults()
                .encodeToString(Job.builder("Counter")
                        .args("good")
                        .jid("goodjid00000000000000001")
                        .build());
        String shadowCopy = JobCodec.defaults()
                .encodeToString(Job.builder("Counter")
                        .args("shadow")
                        .jid("shadowjid000000000000001")
                        .shadow(true)
                        .build());
        List<Input> corrupt = List.of(
                new Input("Reader", "readerjid000000000000001", "{\"class\":\"Reader\",\"args\":[1,"),
                new Input("Failer", "failerjid000000000000001", "{\"class\":\"Failer\",\"args\":[1],\"retry\":\"x\"}"),
                new Input("Swallower", "swallowjid00000000000001", "not json at all"));
        Map<String, List<Integer>> runs = new ConcurrentHashMap<>();
        Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
        WorkerOptions fast = WorkerOptions.custom()
                .retryPolicy(RetryPolicy.fixed(Duration.ofMillis(100)))
                .build();
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("Reader", (args, ctx) -> ran(runs, ctx.jid(), args.get(0, Integer.class)))
                .register(
                        "Failer",
                        (args, ctx) -> {
                            ran(runs, ctx.jid(), ctx.attempt());
                            throw new IllegalStateException("fails");
                        },
                        fast)
                .register("Swallower", (args, ctx) -> {
                    try {
                        args.size();
                    } catch (InvalidPayloadException e) {
                        // carries on as if nothing happened
                    }
                    ran(runs, ctx.jid(), 0);
                })
                .register("Counter", (args, ctx) -> ran(runs, ctx.jid(), ctx.attempt()))
                .build();
        ExecutionCore core = ExecutionCore.builder(registry)
                .listener(new ExecutionListener() {
                    @Override
                    public void finished(Job job, Backend backend, Outcome outcome, Instant s, Duration d) {
                        outcomes.put(job.jid(), outcome);
                    }
                })
                .build();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            backend.topics().ensure(QUEUE);
            String topic = backend.topics().jobs(QUEUE);
            WorkerRuntime workers = backend.workers(core, Set.of(QUEUE), 2);
            workers.start();
            Map<String, String> offsets = new HashMap<>();
            try {
                Map<String, Object> props = new HashMap<>();
                props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
                try (KafkaProducer<byte[], byte[]> raw =
                        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
                    List<Input> all = new ArrayList<>(corrupt);
                    all.add(new Input("Counter", "shadowjid000000000000001", shadowCopy));
                    all.add(new Input("Counter", "goodjid00000000000000001", good));
                    for (Input in : all) {
                        List<Header> headers = oneHeader
                                ? List.of(new RecordHeader("crossfade-job", bytes("1 " + in.jid() + " " + in.worker())))
                                : List.of(
                                        new RecordHeader("class", bytes(in.worker())),
                                        new RecordHeader("jid", bytes(in.jid())),
                                        new RecordHeader("attempt", bytes("1")));
                        var m = raw.send(new ProducerRecord<>(topic, null, bytes(in.jid()), bytes(in.body()), headers))
                                .get(30, TimeUnit.SECONDS);
                        offsets.put(m.partition() + "@" + m.offset(), in.jid());
                    }
                }
                await("three dead letters")
                        .atMost(Duration.ofSeconds(30))
                        .until(() -> backend.admin().deadLetters(QUEUE, 100).size() >= corrupt.size());
                await("every offset committed")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> backend.admin().lag(QUEUE).stream()
                                .allMatch(l -> l.endOffset() == 0 || l.committedOffset() == l.endOffset()));
                // Time for a retry (100 ms) to come back, were one written.
                Thread.sleep(2_500);
                Map<String, DeadLetter> dlq = new HashMap<>();
                for (DeadLetter d : backend.admin().deadLetters(QUEUE, 100)) {
                    dlq.put(
                            offsets.get(d.headers().get("source-partition") + "@"
                                    + d.headers().get("source-offset")),
                            d);
                }
                assertEquals(corrupt.size(), dlq.size(), "dead letters: " + dlq.keySet());
                for (Input in : corrupt) {
                    DeadLetter d = dlq.get(in.jid());
                    assertTrue(d != null, in.worker() + " was not dead-lettered: " + dlq.keySet());
                    assertEquals(ExecutionCore.INVALID_PAYLOAD_CLASS, d.job().className(), in.worker());
                    assertEquals(in.jid(), d.job().jid(), in.worker());
                    assertEquals(in.body(), d.job().args().get(0).textValue(), in.worker());
                    assertEquals(
                            InvalidPayloadException.class.getName(), d.job().errorClass(), in.worker());
                    assertTrue(
                            d.job().errorMessage().startsWith("payload"),
                            d.job().errorMessage());
                    assertTrue(!d.headers().get("error-message").isBlank(), in.worker());
                    // The core settled it (the listener heard the dead outcome), not a fault net around it.
                    Outcome o = outcomes.get(in.jid());
                    assertEquals(
                            ExecutionCore.INVALID_PAYLOAD_CLASS,
                            assertInstanceOf(Outcome.Dead.class, o, in.worker())
                                    .job()
                                    .className());
                }
                assertEquals(List.of(1), runs.get("failerjid000000000000001"), "the failing worker ran once");
                assertEquals(List.of(0), runs.get("swallowjid00000000000001"));
                assertEquals(List.of(1), runs.get("goodjid00000000000000001"), "the good job ran once");
                assertEquals(null, runs.get("shadowjid000000000000001"), "a shadow copy ran for real");
                assertInstanceOf(Outcome.Succeeded.class, outcomes.get("goodjid00000000000000001"));
                assertEquals(List.of(), uncaught, "worker or poll threads died");
                assertTrue(workers.stop(Duration.ofSeconds(20)), "a clean stop");
            } finally {
                workers.stop(Duration.ofSeconds(20));
                Thread.setDefaultUncaughtExceptionHandler(before);
            }
        }
    }

    private static void ran(Map<String, List<Integer>> runs, String jid, int what) {
        runs.computeIfAbsent(jid, k -> new CopyOnWriteArrayList<>()).add(what);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
