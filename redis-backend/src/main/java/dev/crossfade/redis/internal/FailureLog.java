package dev.crossfade.redis.internal;

import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import redis.clients.jedis.exceptions.JedisException;

/**
 * How a loop reports a run of failures, so that an outage is a few lines rather than one per attempt: the first
 * failure is logged on one line (with a stack trace only if it is not a Redis error, as that would be a bug), the rest
 * are counted, and the end of the run is logged with how many attempts failed and for how long. Not thread-safe; one
 * per loop.
 */
public final class FailureLog {
    private final Logger log;
    private final String what;
    private int failures;
    private long firstNanos;

    /** @param what the activity, as the subject of a sentence, e.g. "fetching from Redis at redis://host:6379" */
    public FailureLog(Logger log, String what) {
        this.log = log;
        this.what = what;
    }

    /**
     * Records a failed attempt; logs it if it is the first of a run.
     *
     * @param meanwhile what happens until it works again, e.g. "retrying with backoff"
     */
    public void failed(Throwable e, String meanwhile) {
        if (failures++ > 0) {
            return;
        }
        firstNanos = System.nanoTime();
        try {
            if (e instanceof JedisException || e instanceof ClassCastException) {
                log.warn("{} failed: {}; {}", what, describe(e), meanwhile);
            } else {
                log.error("{} failed unexpectedly: {}; {}", what, describe(e), meanwhile, e);
            }
        } catch (Throwable ignored) { // NOPMD: reporting must never be what breaks the loop
            // A Throwable whose own methods throw: the loop still carries on.
        }
    }

    /** Records a successful attempt; ends a run of failures with one summary line. */
    public void ok() {
        if (failures == 0) {
            return;
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - firstNanos);
        log.info("{} works again after {} failed attempt(s) over {} s", what, failures, seconds);
        failures = 0;
    }

    /** Failures in the current run; 0 when the last attempt worked. */
    public int failures() {
        return failures;
    }

    /**
     * {@code t.toString()}, or only its class name when even that throws: worker code can throw anything, including
     * Throwables whose message is itself broken.
     */
    public static String describe(Throwable t) {
        if (t == null) {
            return "null";
        }
        try {
            return t.toString();
        } catch (Throwable broken) { // NOPMD: see above
            return t.getClass().getName() + " (whose message cannot be read: "
                    + broken.getClass().getName() + ")";
        }
    }
}
