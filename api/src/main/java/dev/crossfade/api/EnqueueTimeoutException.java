package dev.crossfade.api;

import java.time.Duration;
import java.util.Objects;

/**
 * An enqueue that was not acknowledged within its time limit. The jobs were not durably accepted as far as the caller
 * can tell, but some may still arrive: a job sent again elsewhere can then exist twice, which the run-once guard of the
 * worker runtime absorbs.
 */
public class EnqueueTimeoutException extends EnqueueException {

    public EnqueueTimeoutException(Backend backend, String message, Throwable cause) {
        super(backend, message, cause);
    }

    /**
     * Checks a caller's limit before anything is sent: a limit of zero or less is spent already.
     *
     * @return the deadline, in {@link System#nanoTime()} terms
     * @throws EnqueueTimeoutException when the limit is spent
     */
    public static long deadline(Backend backend, Duration limit, int jobs) {
        Objects.requireNonNull(limit, "limit");
        if (limit.isNegative() || limit.isZero()) {
            throw new EnqueueTimeoutException(
                    backend, "time limit " + limit + " spent before " + jobs + " job(s) were sent; nothing sent", null);
        }
        return System.nanoTime() + limit.toNanos();
    }
}
