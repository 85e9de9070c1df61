package dev.crossfade.api.execution;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import java.time.Duration;
import java.time.Instant;

/**
 * Observes every execution: metrics, shadow-mode observations and test ledgers hang here, so backends need no
 * knowledge of them. Called on the worker thread; implementations must be fast and thread-safe, and their exceptions
 * are logged and ignored.
 */
public interface ExecutionListener {
    /** A listener that does nothing. */
    ExecutionListener NONE = new ExecutionListener() {};

    /** A worker is about to run (or, for a shadow copy of an unsafe worker, the delivery is recorded). */
    default void started(Job job, Backend backend, Instant startedAt) {}

    /** The core decided what happens to the job. */
    default void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {}

    /** Combines listeners, called in order. */
    static ExecutionListener all(ExecutionListener... listeners) {
        return new ExecutionListener() {
            @Override
            public void started(Job job, Backend backend, Instant startedAt) {
                for (ExecutionListener l : listeners) {
                    l.started(job, backend, startedAt);
                }
            }

            @Override
            public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
                for (ExecutionListener l : listeners) {
                    l.finished(job, backend, outcome, startedAt, duration);
                }
            }
        };
    }
}
