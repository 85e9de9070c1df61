package dev.crossfade.api;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link JobQueue} whose backend acknowledges writes asynchronously (Kafka), so a caller can bound its wait for the
 * acknowledgement without lending the call to a thread of its own.
 */
public interface AsyncJobQueue extends JobQueue {

    /**
     * Sends jobs and returns at once with a future of their jids, in order, that completes when the backend has
     * durably accepted every one of them, or completes exceptionally with an {@link EnqueueException} naming the first
     * that it did not. Invalid jobs (too large, not encodable) are rejected by throwing, before anything is sent.
     *
     * <p>The call itself blocks only while the client has no room to buffer the records or no metadata for their
     * topic (Kafka: at most {@code max.block.ms}).
     */
    CompletableFuture<List<String>> enqueueAllAsync(List<Job> jobs);

    /**
     * Enqueues jobs on the caller's thread and returns within about {@code limit} (plus the time to encode them): with
     * their jids, in order, once the backend durably accepted every one, else with an {@link EnqueueException}, an
     * {@link EnqueueTimeoutException} when the limit ran out. So a caller with a deadline, such as the router, needs
     * no thread of its own to keep it. Invalid jobs are rejected by throwing, before anything is sent.
     */
    List<String> enqueueAllWithin(List<Job> jobs, Duration limit);
}
