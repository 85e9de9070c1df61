package dev.crossfade.bench;

import java.util.List;
import org.HdrHistogram.Histogram;

/** Small statistics helpers: medians of repeated rounds and percentiles of latency samples. */
final class Stats {
    private Stats() {}

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The {@code p}-th percentile (0..100) of {@code samples} (HdrHistogram, three significant digits); -1 if none. */
    static long percentile(long[] samples, double p) {
        if (samples.length == 0) {
            return -1;
        }
        Histogram h = new Histogram(3);
        for (long v : samples) {
            h.recordValue(Math.max(0, v));
        }
        return h.getValueAtPercentile(p);
    }
}
