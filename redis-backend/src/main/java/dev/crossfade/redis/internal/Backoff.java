package dev.crossfade.redis.internal;

import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;

/**
 * The pause of a reconnecting loop: resilience4j's exponential random backoff from 50 ms, doubling up to a cap, with
 * ±50% jitter so a fleet of workers does not hammer a Redis that just came back in lockstep. Not thread-safe; one per
 * loop.
 */
public final class Backoff {
    private static final Duration INITIAL = Duration.ofMillis(50);
    private final IntervalFunction intervals;
    private int failures;

    public Backoff(Duration max) {
        Duration cap = max.compareTo(INITIAL) < 0 ? INITIAL : max;
        this.intervals = IntervalFunction.ofExponentialRandomBackoff(INITIAL, 2.0, 0.5, cap);
    }

    /** Sleeps for the next delay. @return false if interrupted (the caller should stop) */
    public boolean pause() {
        failures++;
        try {
            Thread.sleep(intervals.apply(failures));
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
        failures = 0;
    }
}
