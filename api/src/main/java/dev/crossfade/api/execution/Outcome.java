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
    record Succeeded(Job job, Object result, boolean ran, Duration duration) implements Outcome {}

    /** The attempt failed: store {@link #job()} in the retry set / retry topic, due at {@link #dueAt()}, then ack. */
    record Retry(Job job, Instant dueAt, Throwable error) implements Outcome {}

    /**
     * The job will not run again by itself: store {@link #job()} in the dead set / DLQ (its error fields say why), then
     * ack. Used when retries are spent or the payload is malformed.
     */
    record Dead(Job job, Throwable error) implements Outcome {}

    /**
     * The job failed and is neither retried nor kept: a failed shadow copy (the authoritative copy is the one that
     * counts), or a job whose own policy says so, as Sidekiq does ({@code retry: false}, or {@code dead: false} once its
     * retries are spent). Acknowledge it; listeners still see the failure.
     */
    record Discarded(Job job, Throwable error) implements Outcome {}
}
