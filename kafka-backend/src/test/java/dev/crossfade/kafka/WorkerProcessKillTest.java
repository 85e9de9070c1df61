package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.Ledger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A worker process is SIGKILLed in the middle of its batches; another consumer takes over and every job still runs.
 * Runs are counted by jid across both processes: duplicates (jobs that ran but were not yet committed/acknowledged
 * when the process died) are reported, losses fail the test.
 */
@ExtendWith(CrossfadeServices.class)
class WorkerProcessKillTest {

    @ParameterizedTest
    @EnumSource(KafkaBackendConfig.Mode.class)
    void killedWorkerProcessLosesNoJob(
            KafkaBackendConfig.Mode mode, KafkaService kafka, TestNamespace ns, @TempDir Path dir) throws Exception {
        String prefix = ns.value();
        Path ledger = dir.resolve("child-runs.txt");
        try (KafkaBackend backend = KafkaBackend.create(
                FaultTestSupport.config(kafka.bootstrapServers(), prefix, mode).build())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                jobs.add(Job.of("SlowWorker", 10));
            }
            List<String> jids = backend.queue().enqueueAll(jobs);

            ChildJvm child = ChildJvm.builder(WorkerMain.class)
                    .heap("256m")
                    .args(kafka.bootstrapServers(), prefix, mode.name(), ledger.toString())
                    .outputTo(dir.resolve("child.log"))
                    .start();
            try {
                // Mid-batch: the child has finished some jobs but is far from done (600 jobs x 10 ms, at most 4 at a
                // time).
                await().atMost(Duration.ofSeconds(60)).until(() -> lines(ledger) >= 150);
                child.kill(); // SIGKILL: no shutdown hook, no commit, no leave-group
                assertTrue(child.awaitExit(Duration.ofSeconds(20)), "child JVM exits after SIGKILL");
            } finally {
                child.close();
            }
            int beforeTakeover = lines(ledger);
            assertTrue(beforeTakeover < jids.size(), "the child was killed mid-run (" + beforeTakeover + " done)");

            Ledger runs = new Ledger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("SlowWorker", (a, ctx) -> runs.complete(runs.start(a, ctx)))
                    .build();
            WorkerRuntime takeover =
                    backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 4);
            takeover.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> {
                    Ledger all = merged(runs, ledger);
                    return all.completedAll(jids);
                });
            } finally {
                takeover.stop(Duration.ofSeconds(10));
            }
            Ledger all = merged(runs, ledger);
            assertEquals(List.of(), all.missing(jids), "no job lost");
            System.out.printf(
                    "%s kill test: child finished %d jobs before SIGKILL; duplicates after takeover: %d%n",
                    mode, beforeTakeover, all.duplicates().size());
            assertFalse(
                    backend.admin().deadLetters("default", 10).stream()
                            .findAny()
                            .isPresent(),
                    "the kill sent nothing to the DLQ");
        }
    }

    private static Ledger merged(Ledger inProcess, Path ledger) throws Exception {
        Ledger all = new Ledger();
        all.completeFromFile(ledger);
        all.completeAll(inProcess);
        return all;
    }

    private static int lines(Path file) throws Exception {
        return Files.exists(file)
                ? (int) Files.readAllLines(file).stream()
                        .filter(l -> !l.isBlank())
                        .count()
                : 0;
    }
}
