package dev.crossfade.api;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Where an application puts jobs. Every backend (Redis, Kafka, in-memory) and the flag-driven router implement it, so
 * application code is written once and the transport underneath can change per job.
 *
 * <p>Each method returns only after the backend has durably accepted the job (a Redis reply, a Kafka ack with the
 * configured acks). Anything else is an {@link EnqueueException} naming the backend and the reason: a job is never
 * dropped silently. Invalid jobs (too large, not encodable) are rejected with
 * {@link dev.crossfade.api.codec.InvalidPayloadException} before anything is sent.
 */
public interface JobQueue extends AutoCloseable {

    /**
     * Enqueues one job for immediate processing.
     *
     * @return the job's jid
     */
    String enqueue(Job job);

    /**
     * Enqueues several jobs, in one round trip where the backend allows it. Either every job is accepted or an
     * exception is thrown; on an exception some jobs may have been accepted (the jids are in the jobs themselves).
     *
     * @return the jids, in order
     */
    List<String> enqueueAll(List<Job> jobs);

    /**
     * Enqueues a job that must not start before {@code at}. A time in the past means now.
     *
     * @return the job's jid
     */
    String enqueueAt(Job job, Instant at);

    /**
     * Enqueues a job that must not start before {@code delay} has passed.
     *
     * @return the job's jid
     */
    default String enqueueIn(Job job, Duration delay) {
        return enqueueAt(job, Instant.now().plus(delay));
    }

    /** Releases connections and producers. Jobs already accepted stay accepted. */
    @Override
    void close();
}
