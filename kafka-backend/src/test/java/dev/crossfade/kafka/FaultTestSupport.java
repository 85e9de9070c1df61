package dev.crossfade.kafka;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.tck.Ledger;
import java.util.Set;

/** Shared settings and counting workers for the fault tests. */
final class FaultTestSupport {
    private FaultTestSupport() {}

    /**
     * The contract fixture's settings plus short share-record locks, so a killed share consumer's records return
     * within seconds.
     */
    static KafkaBackendConfig.Builder config(String bootstrap, String prefix, KafkaBackendConfig.Mode mode) {
        KafkaBackendConfig.Builder b = KafkaFixture.config(bootstrap, prefix, mode);
        if (mode == KafkaBackendConfig.Mode.SHARE) {
            b.groupConfig("share.record.lock.duration.ms", "4000");
        }
        return b;
    }

    /** Starts 4 workers of class {@code CountingWorker} that count their runs, each taking {@code sleepMillis}. */
    static WorkerRuntime countingWorkers(KafkaBackend backend, Ledger runs, long sleepMillis) {
        return countingWorkers(backend, runs, sleepMillis, Set.of("default"));
    }

    /** As {@link #countingWorkers(KafkaBackend, Ledger, long)}, over {@code queues}. */
    static WorkerRuntime countingWorkers(KafkaBackend backend, Ledger runs, long sleepMillis, Set<String> queues) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("CountingWorker", (a, ctx) -> {
                    if (sleepMillis > 0) {
                        Thread.sleep(sleepMillis);
                    }
                    runs.complete(runs.start(a, ctx));
                })
                .build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), queues, 4);
        r.start();
        return r;
    }
}
