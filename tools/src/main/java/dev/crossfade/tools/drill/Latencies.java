package dev.crossfade.tools.drill;

import java.util.Arrays;

/** Exact percentiles of recorded durations (the drill records at most a few hundred thousand). Thread-safe. */
final class Latencies {
    private long[] values = new long[1024];
    private int size;

    synchronized void record(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    synchronized int count() {
        return size;
    }

    /** The {@code p} quantile (0..1) in milliseconds; 0 when nothing was recorded. */
    synchronized double percentileMillis(double p) {
        if (size == 0) {
            return 0;
        }
        long[] sorted = Arrays.copyOf(values, size);
        Arrays.sort(sorted);
        int i = (int) Math.min(size - 1, Math.max(0, Math.ceil(p * size) - 1));
        return sorted[i] / 1_000_000.0;
    }
}
