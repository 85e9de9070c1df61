package dev.crossfade.tools.drill;

import org.HdrHistogram.SynchronizedHistogram;

/** Percentiles of recorded durations: HdrHistogram, three significant digits. Thread-safe. */
final class Latencies {
    private final SynchronizedHistogram histogram = new SynchronizedHistogram(3);

    void record(long nanos) {
        histogram.recordValue(Math.max(0, nanos));
    }

    int count() {
        return (int) histogram.getTotalCount();
    }

    /** The {@code p} quantile (0..1) in milliseconds; 0 when nothing was recorded. */
    double percentileMillis(double p) {
        return histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p * 100) / 1_000_000.0;
    }
}
