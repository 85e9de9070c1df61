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
 *
 * <p>The forms with a {@code limit} make the caller's deadline part of the call: every wait the backend makes on the
 * caller's thread (a pooled connection, topic creation, client metadata, the acknowledgement) counts against it, and
 * the call returns by then with the jids or an {@link EnqueueTimeoutException}. So a caller with a deadline, such as
 * the router, needs no thread of its own to keep it. The forms without one wait up to the backend's own timeouts.
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
     * Enqueues several jobs as {@link #enqueueAll(List)} does, returning within about {@code limit} (plus the time to
     * encode them): with their jids, in order, once the backend has durably accepted every one, else with an
     * {@link EnqueueException}, an {@link EnqueueTimeoutException} when the limit ran out. On a timeout some jobs may
     * still arrive. A limit of zero or less is spent already: the call throws {@link EnqueueTimeoutException} and
     * sends nothing. Invalid jobs are rejected by throwing, before anything is sent.
     *
     * @return the jids, in order
     */
    List<String> enqueueAll(List<Job> jobs, Duration limit);

    /**
     * Enqueues one job within {@code limit}, as {@link #enqueueAll(List, Duration)} does.
     *
     * @return the job's jid
     */
    default String enqueue(Job job, Duration limit) {
        return enqueueAll(List.of(job), limit).get(0);
    }

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
