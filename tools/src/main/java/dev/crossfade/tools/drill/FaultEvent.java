package dev.crossfade.tools.drill;

import java.util.concurrent.TimeUnit;

/**
 * One injected fault: when it started and ended (relative to the drill's start), what was hit, and how quickly the
 * router reacted (first fallback counted, breaker OPEN), as sampled by the drill's monitor.
 */
final class FaultEvent {
    final FaultKind kind;
    final long startNanos;
    volatile long endNanos;
    volatile String detail = "";
    /** Router fallbacks counted before the fault started, and breaker state then: baselines for the monitor. */
    final double fallbacksBefore;

    final boolean openBefore;
    volatile long firstFallbackNanos = -1;
    volatile long breakerOpenNanos = -1;
    /** Whether the fault actually happened (the signal was delivered, the bytes were written...). */
    volatile boolean happened;

    FaultEvent(FaultKind kind, long startNanos, double fallbacksBefore, boolean openBefore) {
        this.kind = kind;
        this.startNanos = startNanos;
        this.fallbacksBefore = fallbacksBefore;
        this.openBefore = openBefore;
    }

    boolean isOpen() {
        return endNanos == 0;
    }

    /** Milliseconds from the fault's start to its first fallback, or -1. */
    long msToFallback() {
        return firstFallbackNanos < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(firstFallbackNanos - startNanos);
    }

    /** Milliseconds from the fault's start to the breaker opening, or -1. */
    long msToOpen() {
        return breakerOpenNanos < 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(breakerOpenNanos - startNanos);
    }
}
