package dev.crossfade.kafka;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Shared settings and run counting for the fault tests. */
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
    static WorkerRuntime countingWorkers(KafkaBackend backend, Runs runs, long sleepMillis) {
        return countingWorkers(backend, runs, sleepMillis, Set.of("default"));
    }

    /** As {@link #countingWorkers(KafkaBackend, Runs, long)}, over {@code queues}. */
    static WorkerRuntime countingWorkers(KafkaBackend backend, Runs runs, long sleepMillis, Set<String> queues) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("CountingWorker", (a, ctx) -> {
                    if (sleepMillis > 0) {
                        Thread.sleep(sleepMillis);
                    }
                    runs.add(ctx.jid());
                })
                .build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), queues, 4);
        r.start();
        return r;
    }

    /** Counts completed runs per jid. */
    static final class Runs {
        private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

        void add(String jid) {
            runs.computeIfAbsent(jid, k -> new AtomicInteger()).incrementAndGet();
        }

        void addFile(Path file) throws java.io.IOException {
            if (Files.exists(file)) {
                for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                    if (!line.isBlank()) {
                        add(line.trim());
                    }
                }
            }
        }

        void snapshotInto(Runs other) {
            runs.forEach((k, v) -> {
                for (int i = 0; i < v.get(); i++) {
                    other.add(k);
                }
            });
        }

        boolean all(Collection<String> jids) {
            return jids.stream().allMatch(runs::containsKey);
        }

        long count(Collection<String> jids) {
            return jids.stream().filter(runs::containsKey).count();
        }

        List<String> missing(Collection<String> jids) {
            return jids.stream().filter(j -> !runs.containsKey(j)).toList();
        }

        Map<String, Integer> duplicates() {
            Map<String, Integer> d = new HashMap<>();
            runs.forEach((k, v) -> {
                if (v.get() > 1) {
                    d.put(k, v.get());
                }
            });
            return d;
        }
    }
}
