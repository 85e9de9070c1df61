package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Group mode's poison cap: a job that halts its worker JVM every time is dead-lettered with the reason after
 * {@code maxRecoveries} worker deaths, counted across processes (each restart is a new owner of the partition), and
 * the jobs behind it in its partition run.
 */
@ExtendWith(CrossfadeServices.class)
class GroupPoisonCapTest {
    private static final int MAX_RECOVERIES = 2;

    @Test
    void aJobThatHaltsItsWorkerEndsInTheDlqAndItsPartitionMovesOn(
            KafkaService kafka, TestNamespace ns, @TempDir Path dir) throws Exception {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        Path ledger = dir.resolve("child-runs.txt");
        try (KafkaBackend backend = KafkaBackend.create(
                FaultTestSupport.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .maxRecoveries(MAX_RECOVERIES)
                        .build())) {
            // One routing key: the poison job and the jobs behind it share a partition (and an ordering chain).
            String poison = backend.queue()
                    .enqueue(Job.builder("HaltWorker").routingKey("account-7").build());
            List<String> behind = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                behind.add(backend.queue()
                        .enqueue(Job.builder("SlowWorker")
                                .args(0)
                                .routingKey("account-7")
                                .build()));
            }

            int deaths = 0;
            ChildJvm child = null;
            try {
                for (int start = 1; ; start++) {
                    child = ChildJvm.builder(WorkerMain.class)
                            .heap("256m")
                            .args(
                                    kafka.bootstrapServers(),
                                    prefix,
                                    "GROUP",
                                    ledger.toString(),
                                    Integer.toString(MAX_RECOVERIES))
                            .outputTo(dir.resolve("child-" + start + ".log"))
                            .start();
                    ChildJvm running = child;
                    await().atMost(Duration.ofSeconds(45))
                            .pollInterval(Duration.ofMillis(200))
                            .until(() -> !running.isAlive() || (ledgerHas(ledger, behind) && dead(backend, poison)));
                    if (running.isAlive()) {
                        break;
                    }
                    deaths++;
                    assertTrue(
                            deaths <= MAX_RECOVERIES,
                            "the halting job took down " + deaths + " worker JVMs, more than maxRecoveries = "
                                    + MAX_RECOVERIES);
                }
            } finally {
                if (child != null) {
                    child.close();
                }
            }
            assertEquals(MAX_RECOVERIES, deaths, "worker JVMs the halting job took down before it was dead-lettered");
            DeadLetter d = backend.admin().deadLetters("default", 10).stream()
                    .filter(x -> x.job() != null && poison.equals(x.job().jid()))
                    .findFirst()
                    .orElseThrow();
            assertEquals("crossfade.PoisonPill", d.job().errorClass());
            assertTrue(
                    d.job().errorMessage().contains("maxRecoveries = " + MAX_RECOVERIES),
                    d.job().errorMessage());
            assertEquals("crossfade.PoisonPill", d.headers().get("error-class"));
            assertTrue(ledgerHas(ledger, behind), "the jobs behind it in its partition ran");
        }
    }

    private static boolean dead(KafkaBackend backend, String jid) {
        return backend.admin().deadLetters("default", 10).stream()
                .anyMatch(d -> d.job() != null && jid.equals(d.job().jid()));
    }

    private static boolean ledgerHas(Path ledger, List<String> jids) throws Exception {
        return Files.exists(ledger) && Files.readAllLines(ledger).containsAll(jids);
    }
}
