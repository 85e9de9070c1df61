package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.Ledger;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Group mode pauses partitions by buffered bytes as well as by count, and resumes them: nothing stalls. */
@ExtendWith(CrossfadeServices.class)
class GroupBackpressureTest {

    @Test
    void aByteBoundBelowOneJobStillRunsEveryJob(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value();
        // Every fetch is over the bound, so every partition is paused after each poll and must be resumed each time.
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .maxBufferedBytesPerPartition(1_000)
                        .maxPollRecords(50)
                        .build())) {
            assertEquals(1_000, backend.config().maxBufferedBytesPerPartition());
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                jobs.add(Job.of("CountingWorker", i, "x".repeat(4_000)));
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            Ledger runs = new Ledger();
            WorkerRuntime workers = FaultTestSupport.countingWorkers(backend, runs, 0);
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> runs.completedAll(jids));
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
            assertEquals(List.of(), runs.missing(jids));
        }
    }
}
