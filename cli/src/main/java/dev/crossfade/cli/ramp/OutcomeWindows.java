package dev.crossfade.cli.ramp;

import dev.crossfade.api.Backend;
import dev.crossfade.redis.OutcomeFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;

/**
 * The sum over a span of seconds of the per-second outcome hashes every worker and router writes
 * ({@link dev.crossfade.redis.RedisOutcomeTally}, laid out as {@link OutcomeFormat} says), for the guardrails. A reader caches seconds that can no longer change, so a driver
 * reads about one hash per second of its step.
 */
public final class OutcomeWindows {
    /** Seconds this far back are final: every process flushed them. */
    private static final long SETTLED = 3;

    private final UnifiedJedis redis;
    private final String prefix;
    private final Map<Long, Map<String, String>> settled = new HashMap<>();

    public OutcomeWindows(UnifiedJedis redis, String namespace) {
        this.redis = redis;
        this.prefix = OutcomeFormat.prefix(namespace);
    }

    private String key(long second) {
        return prefix + second;
    }

    /** The upper bound of the bucket holding the {@code q} quantile, in ms; -1 with no samples. */
    static long quantileMs(long[] histogram, double q) {
        long total = 0;
        for (long n : histogram) {
            total += n;
        }
        if (total == 0) {
            return -1;
        }
        long need = (long) Math.ceil(q * total);
        long seen = 0;
        for (int i = 0; i < histogram.length; i++) {
            seen += histogram[i];
            if (seen >= need) {
                return OutcomeFormat.boundMs(i);
            }
        }
        return Long.MAX_VALUE;
    }

    /**
     * Sums over seconds {@code from..to}, both included.
     *
     * @param strata     per queue|class: Kafka runs, Kafka failed, Redis runs, Redis failed
     * @param kafkaLatency enqueue-to-start histogram of Kafka runs
     * @param redisLatency the same of Redis runs, only of queues and classes that also ran on Kafka
     * @param chosenKafka jobs routers sent to Kafka
     * @param fellBack    of those, jobs that went to Redis because Kafka failed
     */
    public record Figures(
            Map<String, long[]> strata, long[] kafkaLatency, long[] redisLatency, long chosenKafka, long fellBack) {
        public List<FailureSprt.Stratum> sprtStrata() {
            List<FailureSprt.Stratum> out = new ArrayList<>();
            strata.values().forEach(s -> out.add(new FailureSprt.Stratum(s[0], s[1], s[2], s[3])));
            return out;
        }

        public long kafkaRuns() {
            return strata.values().stream().mapToLong(s -> s[0]).sum();
        }

        public long redisRuns() {
            return strata.values().stream().mapToLong(s -> s[2]).sum();
        }
    }

    /** The sums over seconds {@code from..to}. */
    public synchronized Figures read(long from, long to) {
        settled.keySet().removeIf(s -> s < from);
        long now = System.currentTimeMillis() / 1000;
        Map<Long, Response<Map<String, String>>> asked = new LinkedHashMap<>();
        try (AbstractPipeline p = redis.pipelined()) {
            for (long s = from; s <= to; s++) {
                if (!settled.containsKey(s)) {
                    asked.put(s, p.hgetAll(key(s)));
                }
            }
            p.sync();
        }
        Map<Long, Map<String, String>> all = new TreeMap<>(settled);
        asked.forEach((s, r) -> {
            all.put(s, r.get());
            if (s < now - SETTLED) {
                settled.put(s, r.get());
            }
        });
        Map<String, long[]> strata = new TreeMap<>();
        Map<String, long[]> kafkaLat = new HashMap<>();
        Map<String, long[]> redisLat = new HashMap<>();
        long chosen = 0;
        long fell = 0;
        for (Map<String, String> h : all.values()) {
            for (Map.Entry<String, String> e : h.entrySet()) {
                long n = Long.parseLong(e.getValue());
                String f = e.getKey();
                if (f.equals(OutcomeFormat.CHOSEN_KAFKA)) {
                    chosen += n;
                    continue;
                }
                if (f.equals(OutcomeFormat.FELL_BACK)) {
                    fell += n;
                    continue;
                }
                String[] p = f.split("\\|", 3);
                if (p.length < 3) {
                    continue;
                }
                boolean kafka = p[0].equals(Backend.KAFKA.id());
                String stratum = p[2];
                if (p[1].equals("n") || p[1].equals("f")) {
                    long[] s = strata.computeIfAbsent(stratum, k -> new long[4]);
                    s[(kafka ? 0 : 2) + (p[1].equals("f") ? 1 : 0)] += n;
                } else if (p[1].startsWith("l")) {
                    int b = Integer.parseInt(p[1].substring(1));
                    if (b >= 0 && b < OutcomeFormat.buckets()) {
                        (kafka ? kafkaLat : redisLat)
                                .computeIfAbsent(stratum, k -> new long[OutcomeFormat.buckets()])[b] += n;
                    }
                }
            }
        }
        long[] k = new long[OutcomeFormat.buckets()];
        long[] r = new long[OutcomeFormat.buckets()];
        kafkaLat.values().forEach(h -> add(k, h));
        // Only queues and classes Kafka also ran: a slow queue that stays on Redis says nothing about Kafka.
        redisLat.forEach((s, h) -> {
            if (kafkaLat.containsKey(s)) {
                add(r, h);
            }
        });
        return new Figures(strata, k, r, chosen, fell);
    }

    private static void add(long[] into, long[] h) {
        for (int i = 0; i < into.length; i++) {
            into[i] += h[i];
        }
    }
}
