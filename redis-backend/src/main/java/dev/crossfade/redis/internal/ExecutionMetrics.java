package dev.crossfade.redis.internal;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.AbstractPipeline;

/**
 * The execution metrics Sidekiq 7/8's Web UI shows on its Metrics page, in the layout of Sidekiq 8's
 * {@code Sidekiq::Metrics::ExecutionTracker} ({@code lib/sidekiq/metrics/tracking.rb} and {@code shared.rb}): per job
 * class (its {@code wrapped} class when it has one, as for Active Job), counters {@code <class>|p} (processed),
 * {@code <class>|f} (failed) and {@code <class>|ms} (milliseconds spent in successful runs) in the hashes
 * {@code j|<yyMMdd>|<H:mm>} (one-minute buckets, kept 8 hours) and {@code j|<yyMMdd>|<H:m>} (ten-minute buckets, the
 * last minute digit dropped, kept 3 days), and each class's histogram of successful run times in
 * {@code h|<class>-<d>-<H:m>}, 26 saturating unsigned 16-bit counters written with {@code BITFIELD} (kept 8 hours).
 *
 * <p>Worker threads only add to counters in memory ({@link #record}); the heartbeat writes what accumulated in its
 * pipeline ({@link #flush}), as Sidekiq flushes on every beat, so a job costs no Redis command of its own. Thread-safe.
 */
public final class ExecutionMetrics {
    /** Sidekiq's {@code Histogram::BUCKET_INTERVALS}: upper bounds in ms; the last bucket takes everything slower. */
    private static final long[] BUCKETS = {
        20,
        30,
        45,
        65,
        100,
        150,
        225,
        335,
        500,
        750,
        1100,
        1700,
        2500,
        3800,
        5750,
        8500,
        13000,
        20000,
        30000,
        45000,
        65000,
        100000,
        150000,
        225000,
        335000,
        Long.MAX_VALUE
    };

    private static final long SHORT_TERM_SECONDS = 8 * 60 * 60;
    private static final long MID_TERM_SECONDS = 3 * 24 * 60 * 60;
    private static final long HISTOGRAM_TTL_SECONDS = 8 * 60 * 60;
    private static final DateTimeFormatter MINUTE =
            DateTimeFormatter.ofPattern("yyMMdd|H:mm").withZone(ZoneOffset.UTC);
    private static final DateTimeFormatter WINDOW =
            DateTimeFormatter.ofPattern("d-H:m").withZone(ZoneOffset.UTC);

    /** One class's counts since the last flush. */
    static final class Counts {
        long processed;
        long failed;
        long millis;
        boolean timed;
        final long[] histogram = new long[BUCKETS.length];

        void add(Counts o) {
            processed += o.processed;
            failed += o.failed;
            millis += o.millis;
            timed |= o.timed;
            for (int i = 0; i < histogram.length; i++) {
                histogram[i] += o.histogram[i];
            }
        }
    }

    private final String prefix;
    private Map<String, Counts> pending = new HashMap<>();

    /** @param prefix the key namespace, empty or ending in {@code :} */
    public ExecutionMetrics(String prefix) {
        this.prefix = prefix;
    }

    /**
     * Counts one finished job.
     *
     * @param jobClass its {@code wrapped} class, else its class
     * @param millis   how long it ran; only successful runs are timed, as in Sidekiq
     */
    public synchronized void record(String jobClass, boolean failed, long millis) {
        Counts c = pending.computeIfAbsent(jobClass, k -> new Counts());
        c.processed++;
        if (failed) {
            c.failed++;
            return;
        }
        c.timed = true;
        c.millis += millis;
        c.histogram[bucket(millis)]++;
    }

    static int bucket(long millis) {
        int i = 0;
        while (millis >= BUCKETS[i]) {
            i++;
        }
        return i;
    }

    /** Takes what accumulated, to be written with {@link #flush}; give it back with {@link #restore} if that fails. */
    public synchronized Map<String, Counts> take() {
        Map<String, Counts> taken = pending;
        pending = new HashMap<>();
        return taken;
    }

    /** Puts back counts whose flush failed, so they are written with the next. */
    public synchronized void restore(Map<String, Counts> taken) {
        taken.forEach((k, v) -> pending.computeIfAbsent(k, x -> new Counts()).add(v));
    }

    /** Queues the writes of {@code taken} (from {@link #take}) into {@code p}, bucketed at {@code now}. */
    public void flush(AbstractPipeline p, Map<String, Counts> taken, Instant now) {
        if (taken.isEmpty()) {
            return;
        }
        String minute = MINUTE.format(now);
        String window = WINDOW.format(now);
        for (String bucket : new String[] {minute, minute.substring(0, minute.length() - 1)}) {
            String key = prefix + "j|" + bucket;
            taken.forEach((cls, c) -> {
                p.hincrBy(key, cls + "|p", c.processed);
                if (c.failed > 0) {
                    p.hincrBy(key, cls + "|f", c.failed);
                }
                if (c.timed) {
                    p.hincrBy(key, cls + "|ms", c.millis);
                }
            });
            p.expire(key, bucket.equals(minute) ? SHORT_TERM_SECONDS : MID_TERM_SECONDS);
        }
        taken.forEach((cls, c) -> {
            if (!c.timed) {
                return;
            }
            String key = prefix + "h|" + cls + "-" + window;
            List<String> cmd = new java.util.ArrayList<>(List.of("OVERFLOW", "SAT"));
            for (int i = 0; i < c.histogram.length; i++) {
                if (c.histogram[i] > 0) {
                    cmd.addAll(List.of("INCRBY", "u16", "#" + i, Long.toString(c.histogram[i])));
                }
            }
            p.bitfield(key, cmd.toArray(new String[0]));
            p.expire(key, HISTOGRAM_TTL_SECONDS);
        });
    }
}
