package dev.crossfade.api.execution;

import dev.crossfade.api.Job;

import java.time.Duration;
import java.time.Instant;

/**
 * What a backend must do with a job after the execution core ran it. Backends only move bytes and acknowledge; every
 * decision about retries and death is made once, here, so Redis and Kafka behave the same.
 */
public sealed interface Outcome permits Outcome.Succeeded, Outcome.Retry, Outcome.Dead, Outcome.Discarded {

    /** The job as it should be stored next (with updated retry and error fields where relevant). */
    Job job();

    /** The job is done: acknowledge it. */
    record Succeeded(Job job, Object result, boolean ran, Duration duration) implements Outcome {
    }

    /** The attempt failed: store {@link #job()} in the retry set / retry topic, due at {@link #dueAt()}, then ack. */
    record Retry(Job job, Instant dueAt, Throwable error) implements Outcome {
    }

    /**
     * The job will not run again by itself: store {@link #job()} in the dead set / DLQ (its error fields say why), then
     * ack. Used when retries are spent, the worker is unknown, or the payload is malformed.
     */
    record Dead(Job job, Throwable error) implements Outcome {
    }

    /**
     * A shadow copy failed. It is not retried and not dead-lettered, because the authoritative copy is the one that
     * counts; the failure is reported to listeners (and so to the shadow comparison).
     */
    record Discarded(Job job, Throwable error) implements Outcome {
    }
}
