package dev.crossfade.router;

import dev.crossfade.api.WorkerRuntime;
import java.time.Duration;
import java.util.List;

/**
 * Consumes from Redis and Kafka at once with one worker registry, so jobs already queued on one side drain after
 * traffic moves to the other. Build each backend's runtime from the same
 * {@link dev.crossfade.api.execution.ExecutionCore} (with {@code RedisBackend.runGuard} and, for shadow runs, a
 * {@link dev.crossfade.router.shadow.ShadowComparator} as listener) and combine them here.
 */
public final class MigrationWorkerRuntime implements WorkerRuntime {
    private final List<WorkerRuntime> runtimes;

    private MigrationWorkerRuntime(List<WorkerRuntime> runtimes) {
        if (runtimes.isEmpty()) {
            throw new IllegalArgumentException("a migration runtime needs at least one backend runtime");
        }
        this.runtimes = List.copyOf(runtimes);
    }

    /** Combines the backends' runtimes; they start and stop together. */
    public static MigrationWorkerRuntime of(WorkerRuntime... runtimes) {
        return new MigrationWorkerRuntime(List.of(runtimes));
    }

    @Override
    public void start() {
        runtimes.forEach(WorkerRuntime::start);
    }

    /** Stops every runtime in parallel, each with the whole timeout. */
    @Override
    public boolean stop(Duration timeout) {
        return runtimes.parallelStream().map(r -> r.stop(timeout)).reduce(true, Boolean::logicalAnd);
    }

    @Override
    public void close() {
        runtimes.parallelStream().forEach(WorkerRuntime::close);
    }
}
