package dev.crossfade.api;

import java.time.Duration;

/**
 * The consuming side of a backend: fetches jobs, hands them to the shared
 * {@link dev.crossfade.api.execution.ExecutionCore} and acknowledges them. One per worker process (or per backend in
 * a migration runtime that consumes from both).
 */
public interface WorkerRuntime extends AutoCloseable {
    /** Starts fetching and running jobs. Returns at once. */
    void start();

    /**
     * Graceful shutdown: stops fetching, waits up to {@code timeout} for running jobs, then returns the unfinished
     * ones to the front of their queue (Redis) or leaves their offsets uncommitted (Kafka) so another process runs
     * them. No job is lost either way.
     *
     * @return true when every running job finished within the timeout
     */
    boolean stop(Duration timeout);

    /** {@link #stop(Duration)} with the runtime's configured shutdown timeout. */
    @Override
    void close();
}
