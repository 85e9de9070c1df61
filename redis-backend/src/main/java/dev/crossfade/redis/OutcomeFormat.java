package dev.crossfade.redis;

import dev.crossfade.api.Backend;
import java.time.Duration;

/**
 * How a guarded rollout's outcome counts are laid out in Redis, shared by their writer ({@link RedisOutcomeTally}) and
 * the rollout driver that reads them: one hash per second ({@code <namespace>crossfade:ramp:outcomes:<epoch second>})
 * with fields {@code <backend>|n|<queue>|<class>} (runs), {@code ...|f|...} (failed runs), {@code ...|l<bucket>|...}
 * (enqueue-to-start histogram), and {@code router|chosen}, {@code router|fallback}.
 */
public final class OutcomeFormat {
    /** How long a second's counts are kept: a driver restarted within this resumes its step's figures. */
    public static final Duration KEEP = Duration.ofHours(6);

    public static final String SEP = "|";
    public static final String CHOSEN_KAFKA = "router|chosen";
    public static final String FELL_BACK = "router|fallback";
    /** Queue and class of the counts beyond {@link #MAX_KEYS} pairs. */
    public static final String OVERFLOW = "(other)";
    /** Queue/class pairs a process counts apart per flush; the rest go under {@link #OVERFLOW}. */
    public static final int MAX_KEYS = 500;
    /** Upper bounds of the latency buckets, in ms; the last bucket is everything above. */
    private static final long[] BOUNDS_MS = {
        5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000
    };

    private OutcomeFormat() {}

    /** The key prefix of the per-second hashes under a Redis namespace (empty or ending in {@code :}). */
    public static String prefix(String namespace) {
        return (namespace == null ? "" : namespace) + "crossfade:ramp:outcomes:";
    }

    /** How many latency buckets there are. */
    public static int buckets() {
        return BOUNDS_MS.length + 1;
    }

    /** The upper bound of bucket {@code i} in ms; {@link Long#MAX_VALUE} for the last. */
    public static long boundMs(int i) {
        return i < BOUNDS_MS.length ? BOUNDS_MS[i] : Long.MAX_VALUE;
    }

    public static String stratum(String queue, String className) {
        return queue + SEP + className;
    }

    public static String runsField(Backend b, String stratum) {
        return b.id() + SEP + "n" + SEP + stratum;
    }

    public static String failedField(Backend b, String stratum) {
        return b.id() + SEP + "f" + SEP + stratum;
    }

    public static String latencyField(Backend b, String stratum, int bucket) {
        return b.id() + SEP + "l" + bucket + SEP + stratum;
    }

    /** The same counter with queue and class replaced by {@link #OVERFLOW}. */
    public static String overflow(String field) {
        String[] p = field.split("\\|", 3);
        return p.length < 3 ? field : p[0] + SEP + p[1] + SEP + OVERFLOW + SEP + OVERFLOW;
    }

    public static int bucketOf(long ms) {
        for (int i = 0; i < BOUNDS_MS.length; i++) {
            if (ms <= BOUNDS_MS[i]) {
                return i;
            }
        }
        return BOUNDS_MS.length;
    }
}
