package dev.crossfade.kafka;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Broker restart, members joining and leaving, and the DLQ as seen by kcat. */
@ExtendWith(CrossfadeServices.class)
class KafkaFaultTest {

    private static String prefix(TestNamespace ns) {
        return ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
    }

    private static WorkerRuntime start(KafkaBackend backend, FaultTestSupport.Runs runs, long sleepMillis) {
        WorkerRegistry registry = WorkerRegistry.builder().register("CountingWorker", (a, ctx) -> {
            if (sleepMillis > 0) {
                Thread.sleep(sleepMillis);
            }
            runs.add(ctx.jid());
        }).build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 4);
        r.start();
        return r;
    }

    /**
     * A private broker (this test kills it) is SIGKILLed and restarted while jobs are being enqueued and run: every
     * job enqueued with an ack, and a scheduled job, still run.
     */
    @Test
    void brokerRestartMidRunLosesNothing(TestNamespace ns) {
        try (LocalKafka broker = LocalKafka.builder().build().start();
             KafkaBackend backend = KafkaBackend.create(FaultTestSupport.config(broker.bootstrapServers(), prefix(ns),
                     KafkaBackendConfig.Mode.GROUP).build())) {
            FaultTestSupport.Runs runs = new FaultTestSupport.Runs();
            WorkerRuntime workers = start(backend, runs, 5);
            try {
                List<String> jids = new ArrayList<>();
                List<Job> first = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    first.add(Job.of("CountingWorker", i));
                }
                jids.addAll(backend.queue().enqueueAll(first));
                jids.add(backend.queue().enqueueAt(Job.of("CountingWorker", "scheduled"),
                        Instant.now().plusSeconds(3)));
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.count(jids) >= 50);

                broker.kill();
                broker.start();

                List<Job> second = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    second.add(Job.of("CountingWorker", "after-" + i));
                }
                jids.addAll(backend.queue().enqueueAll(second));
                await().atMost(Duration.ofSeconds(90)).until(() -> runs.all(jids));
                assertEquals(List.of(), runs.missing(jids));
                System.out.println("broker restart: duplicates " + runs.duplicates().size() + " of " + jids.size());
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
        }
    }

    /** Group mode: members join and leave (gracefully, with jobs in flight) while jobs run; none is lost. */
    @Test
    void membersJoiningAndLeavingLoseNothing(KafkaService kafka, TestNamespace ns) {
        try (KafkaBackend backend = KafkaBackend.create(FaultTestSupport.config(kafka.bootstrapServers(), prefix(ns),
                KafkaBackendConfig.Mode.GROUP).build())) {
            FaultTestSupport.Runs runs = new FaultTestSupport.Runs();
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 800; i++) {
                jobs.add(Job.builder("CountingWorker").args(i).routingKey("acct-" + (i % 50)).build());
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            WorkerRuntime a = start(backend, runs, 5);
            WorkerRuntime b = null;
            WorkerRuntime c = null;
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.count(jids) >= 100);
                b = start(backend, runs, 5);
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.count(jids) >= 300);
                // A short timeout: some of a's jobs are still running and are left uncommitted for the others.
                a.stop(Duration.ofMillis(20));
                c = start(backend, runs, 5);
                await().atMost(Duration.ofSeconds(60)).until(() -> runs.all(jids));
                assertEquals(List.of(), runs.missing(jids));
                System.out.println("join/leave: duplicates " + runs.duplicates().size() + " of " + jids.size());
            } finally {
                a.stop(Duration.ofSeconds(5));
                if (b != null) {
                    b.stop(Duration.ofSeconds(5));
                }
                if (c != null) {
                    c.stop(Duration.ofSeconds(5));
                }
            }
        }
    }

    /** A dead job's DLQ record carries its headers, readable by kcat. */
    @Test
    void dlqRecordCarriesHeadersReadableWithKcat(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = prefix(ns);
        try (KafkaBackend backend = KafkaBackend.create(FaultTestSupport.config(kafka.bootstrapServers(), prefix,
                KafkaBackendConfig.Mode.GROUP).build())) {
            WorkerRegistry registry = WorkerRegistry.builder().register("DoomedWorker", (a, ctx) -> {
                throw new IllegalStateException("boom: no retry");
            }).build();
            String jid = backend.queue().enqueue(Job.builder("DoomedWorker").args(1).retry(false).build());
            WorkerRuntime w = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 1);
            w.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> !backend.deadLetters("default", 10).isEmpty());
            } finally {
                w.stop(Duration.ofSeconds(5));
            }
            DeadLetter d = backend.deadLetters("default", 10).get(0);
            assertEquals(jid, d.job().jid());
            assertEquals(prefix + ".default", d.headers().get("source-topic"));
            assertEquals("java.lang.IllegalStateException", d.headers().get("error-class"));

            String topic = prefix + ".default.dlq";
            Process kcat;
            try {
                kcat = new ProcessBuilder("kcat", "-b", kafka.bootstrapServers(), "-C", "-t", topic, "-o", "beginning",
                        "-e", "-q", "-f", "%h\\n").redirectErrorStream(true).start();
            } catch (IOException e) {
                fail("kcat is not installed (apt-get install kcat): " + e.getMessage());
                return;
            }
            assertTrue(kcat.waitFor(30, TimeUnit.SECONDS), "kcat finished");
            String out = new String(kcat.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, kcat.exitValue(), "kcat exit code; output: " + out);
            assertTrue(out.contains("source-topic=" + prefix + ".default"), out);
            assertTrue(out.contains("source-partition=" + d.headers().get("source-partition")), out);
            assertTrue(out.contains("error-class=java.lang.IllegalStateException"), out);
            assertTrue(out.contains("error-message=boom: no retry"), out);
            assertTrue(out.contains("attempts=1"), out);
            assertTrue(out.contains("jid=" + jid), out);
            assertTrue(out.contains("source-offset=0"), out);
        }
    }
}
