package dev.crossfade.redis.internal;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with jitter for reconnecting loops: starts at 50 ms, doubles up to a cap. Jitter keeps a fleet
 * of workers from hammering a Redis that just came back in lockstep. Not thread-safe; one per loop.
 */
public final class Backoff {
    private static final long INITIAL_MS = 50;
    private final long maxMs;
    private long nextMs = INITIAL_MS;
    private int failures;

    public Backoff(Duration max) {
        this.maxMs = Math.max(INITIAL_MS, max.toMillis());
    }

    /** Sleeps for the next delay. @return false if interrupted (the caller should stop) */
    public boolean pause() {
        failures++;
        long jittered = nextMs / 2 + ThreadLocalRandom.current().nextLong(nextMs / 2 + 1);
        nextMs = Math.min(maxMs, nextMs * 2);
        try {
            Thread.sleep(jittered);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Failures since the last {@link #reset()}; loops log the first one loudly and the rest quietly. */
    public int failures() {
        return failures;
    }

    public void reset() {
        nextMs = INITIAL_MS;
        failures = 0;
    }
}
