package dev.crossfade.api.worker;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long a failed job waits before its next attempt. The default is Sidekiq's, so a job retried by Ruby Sidekiq
 * and by Crossfade follows the same schedule.
 */
@FunctionalInterface
public interface RetryPolicy {
    /**
     * The delay before the next attempt.
     *
     * @param retryCount Sidekiq's {@code retry_count} after this failure: 0 after the first failure
     * @param error      what the worker threw
     */
    Duration delay(int retryCount, Throwable error);

    /** Sidekiq's backoff as Sidekiq 7 and 8 compute it: {@code count^4 + 15 + rand(10 * (count + 1))} seconds. */
    static RetryPolicy sidekiq() {
        return (count, error) -> {
            long c = count;
            long seconds = c * c * c * c + 15 + ThreadLocalRandom.current().nextLong(10 * (c + 1));
            return Duration.ofSeconds(seconds);
        };
    }

    /** The same delay every time; meant for tests and for idempotent jobs polling an external system. */
    static RetryPolicy fixed(Duration delay) {
        return (count, error) -> delay;
    }
}
