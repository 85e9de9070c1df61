package dev.crossfade.bench;

import java.util.Arrays;
import java.util.List;

/** Small statistics helpers: medians of repeated rounds and percentiles of latency samples. */
final class Stats {
    private Stats() {
    }

    static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The {@code p}-th percentile (0..100) of {@code samples}, nearest-rank; sorts a copy. */
    static long percentile(long[] samples, double p) {
        if (samples.length == 0) {
            return -1;
        }
        long[] s = samples.clone();
        Arrays.sort(s);
        int rank = (int) Math.ceil(p / 100.0 * s.length);
        return s[Math.max(0, Math.min(s.length - 1, rank - 1))];
    }
}
