package dev.crossfade.redis;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.UnifiedJedis;

/**
 * What a guarded rollout compares, counted by every worker and router process into Redis: per second, per backend,
 * queue and class, runs, failed runs and an enqueue-to-start histogram; and per second the jobs routers sent to Kafka
 * and how many of them fell back to Redis. Each process adds to memory on the job's thread (a map lookup and an
 * increment) and writes the sums every {@link #FLUSH} in one pipelined round trip ({@code HINCRBY} per non-zero field,
 * one {@code EXPIRE} per second touched), so Redis sees a few commands per process per flush, not per job. Windows
 * expire after {@link OutcomeFormat#KEEP}; at most {@link OutcomeFormat#MAX_KEYS} queue/class pairs per flush are kept, the rest
 * counted under one overflow pair. Shadow copies are not counted: they are the comparison's business.
 */
public final class RedisOutcomeTally implements ExecutionListener, AutoCloseable {
    /** How often sums go to Redis. */
    public static final Duration FLUSH = Duration.ofMillis(200);

    private static final Logger log = LoggerFactory.getLogger(RedisOutcomeTally.class);
    /** Where each field name is in {@link #names(Backend, Job)}'s array. */
    private static final int RUNS = 0;

    private static final int FAILED = 1;
    private static final int LATENCY = 2;

    private final UnifiedJedis redis;
    private final String prefix;
    private final Map<Field, LongAdder> pending = new ConcurrentHashMap<>();
    private final Map<Stratum, String[]> names = new ConcurrentHashMap<>();
    private final ScheduledExecutorService flusher;
    /** Whether the last flush failed, so an outage is logged once. */
    private boolean failing;

    /** A counter in one second's hash. */
    record Field(long second, String name) {}

    private record Stratum(Backend backend, String queue, String className) {}

    RedisOutcomeTally(UnifiedJedis redis, String namespace) {
        this.redis = redis;
        this.prefix = OutcomeFormat.prefix(namespace);
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-outcome-tally");
            t.setDaemon(true);
            return t;
        });
        flusher.scheduleWithFixedDelay(this::flush, FLUSH.toMillis(), FLUSH.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void started(Job job, Backend backend, Instant startedAt) {
        if (job.shadow() || job.enqueuedAt() == null || !counted(backend)) {
            return;
        }
        long ms = Math.max(0, Duration.between(job.enqueuedAt(), startedAt).toMillis());
        add(startedAt, names(backend, job)[LATENCY + OutcomeFormat.bucketOf(ms)], 1);
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
        if (job.shadow() || !counted(backend)) {
            return;
        }
        Instant at = startedAt.plus(duration);
        String[] names = names(backend, job);
        add(at, names[RUNS], 1);
        if (!(outcome instanceof Outcome.Succeeded)) {
            add(at, names[FAILED], 1);
        }
    }

    /**
     * {@code jobs} jobs the flags sent to {@code chosen} were accepted by {@code landed}: the router's
     * {@code RouteListener}, which this module cannot see ({@code routeListener(tally::routed)}).
     */
    public void routed(Backend chosen, Backend landed, int jobs) {
        if (chosen != Backend.KAFKA) {
            return;
        }
        Instant now = Instant.now();
        add(now, OutcomeFormat.CHOSEN_KAFKA, jobs);
        if (landed != chosen) {
            add(now, OutcomeFormat.FELL_BACK, jobs);
        }
    }

    private static boolean counted(Backend b) {
        return b == Backend.REDIS || b == Backend.KAFKA;
    }

    /**
     * A job's field names: runs, failed, then one per latency bucket. Kept per backend, queue and class, so that
     * counting a job builds and hashes no string; past {@link OutcomeFormat#MAX_KEYS} pairs they are built each time.
     */
    private String[] names(Backend backend, Job job) {
        Stratum s = new Stratum(backend, job.queue(), job.className());
        String[] n = names.get(s);
        if (n == null) {
            String key = OutcomeFormat.stratum(job.queue(), job.className());
            n = new String[LATENCY + OutcomeFormat.buckets()];
            n[RUNS] = OutcomeFormat.runsField(backend, key);
            n[FAILED] = OutcomeFormat.failedField(backend, key);
            for (int i = 0; i < OutcomeFormat.buckets(); i++) {
                n[LATENCY + i] = OutcomeFormat.latencyField(backend, key, i);
            }
            if (names.size() < 2 * OutcomeFormat.MAX_KEYS) {
                names.putIfAbsent(s, n);
            }
        }
        return n;
    }

    private void add(Instant at, String name, long n) {
        Map<Field, LongAdder> p = pending;
        Field f = new Field(at.getEpochSecond(), name);
        LongAdder a = p.get(f);
        if (a == null) {
            if (p.size() >= OutcomeFormat.MAX_KEYS * 4 && name.contains(OutcomeFormat.SEP)) {
                f = new Field(f.second(), OutcomeFormat.overflow(name));
            }
            a = p.computeIfAbsent(f, k -> new LongAdder());
        }
        a.add(n);
    }

    /** Writes what was counted since the last flush; on a Redis error the sums are kept for the next one. */
    void flush() {
        if (pending.isEmpty()) {
            return;
        }
        long stale = Instant.now().getEpochSecond() - 5;
        Map<Field, Long> taken = new java.util.HashMap<>();
        for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Field, LongAdder> e = it.next();
            // sumThenReset loses no concurrent increment: it lands in this flush or the next.
            long n = e.getValue().sumThenReset();
            if (n != 0) {
                taken.put(e.getKey(), n);
            } else if (e.getKey().second() < stale) {
                // Nothing counts into a second this old any more; drop it so the map stays small.
                it.remove();
            }
        }
        if (taken.isEmpty()) {
            return;
        }
        try (AbstractPipeline p = redis.pipelined()) {
            java.util.Set<Long> seconds = new java.util.HashSet<>();
            taken.forEach((f, n) -> {
                String key = prefix + f.second();
                p.hincrBy(key, f.name(), n);
                if (seconds.add(f.second())) {
                    p.expire(key, OutcomeFormat.KEEP.toSeconds());
                }
            });
            p.sync();
        } catch (RuntimeException e) {
            taken.forEach(
                    (f, n) -> pending.computeIfAbsent(f, k -> new LongAdder()).add(n));
            if (!failing) {
                failing = true;
                log.warn(
                        "cannot write the rollout's outcome counts to Redis ({}); keeping them for the next flush",
                        e.toString());
            }
            return;
        }
        if (failing) {
            failing = false;
            log.info("rollout outcome counts reach Redis again");
        }
    }

    @Override
    public void close() {
        flusher.shutdown();
        try {
            flusher.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        flush();
    }
}
