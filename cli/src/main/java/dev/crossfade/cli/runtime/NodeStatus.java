package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.cli.http.StatusSource;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.PartitionLag;
import dev.crossfade.redis.RedisAdmin;
import dev.crossfade.router.shadow.ShadowReport;
import io.micrometer.core.instrument.search.Search;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The status of one {@link Node}, shaped for {@code crossfade status}, {@code /health} and the dashboard. Reads that
 * touch Redis or Kafka are cached for a second so open dashboards cost the servers nothing noticeable.
 */
public final class NodeStatus implements StatusSource {
    private final Node node;
    private Map<String, Object> cached;
    private long cachedAt;

    public NodeStatus(Node node) {
        this.node = node;
    }

    @Override
    public synchronized Map<String, Object> snapshot() {
        if (cached == null || System.currentTimeMillis() - cachedAt > 1000) {
            cached = build();
            cachedAt = System.currentTimeMillis();
        }
        return cached;
    }

    private Map<String, Object> build() {
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("split", split());
        Map<String, Object> router = new LinkedHashMap<>();
        router.put("breaker", node.router().kafkaBreakerState().name());
        router.put("fallbacks", (long) Search.in(node.meters()).name("crossfade.router.fallbacks").counters().stream()
                .mapToDouble(c -> c.count()).sum());
        s.put("router", router);
        s.put("processed", Map.of("redis", (long) node.jobMetrics().processed(Backend.REDIS),
                "kafka", (long) node.jobMetrics().processed(Backend.KAFKA)));
        s.put("latencyP99Ms", Map.of("redis", node.jobMetrics().latencyMs(Backend.REDIS, 0.99),
                "kafka", node.jobMetrics().latencyMs(Backend.KAFKA, 0.99)));
        s.put("queues", queues());
        s.put("failures", failures());
        s.put("lag", lag());
        ShadowReport r = node.comparator().report();
        s.put("shadow", Map.of("matched", r.matched(), "mismatched", r.mismatched(),
                "missing", r.missingShadow() + r.missingPrimary(), "duplicates", r.duplicates(),
                "deliveredOnly", r.deliveredOnly(), "pending", r.pending()));
        return s;
    }

    /** The split as configured: exact from a flags file, estimated over sample keys from LaunchDarkly. */
    public Map<String, Object> split() {
        Map<String, Object> split = new LinkedHashMap<>();
        FlagsFile file = node.flagsFile();
        FlagsFile.Settings set = null;
        if (file != null) {
            try {
                set = file.read();
            } catch (IllegalStateException unreadable) {
                split.put("fileError", unreadable.getMessage());
            }
        }
        if (set != null && node.flags().healthy()) {
            split.put("kafkaPercent", set.killSwitch() ? 0.0 : set.kafkaPercent());
            split.put("killSwitch", set.killSwitch());
            split.put("shadowPercent", set.killSwitch() ? 0.0 : set.shadowPercent());
        } else {
            // LaunchDarkly, or a file the SDK cannot use: say what routing actually does.
            node.flags().decide(dev.crossfade.api.Job.of("crossfade.StatusProbe"));
            split.put("kafkaPercent", Math.round(node.flags().kafkaShare(1000) * 1000) / 10.0);
            split.put("killSwitch", false);
            split.put("shadowPercent", 0.0);
        }
        split.put("source", node.flags().sourceDescription());
        split.put("flagsHealthy", node.flags().healthy());
        return split;
    }

    private Map<String, Object> queues() {
        Map<String, Object> q = new LinkedHashMap<>();
        RedisAdmin admin = node.redis().admin();
        Map<String, Long> sizes = admin.queueSizes();
        for (String name : node.configuredQueues()) {
            q.put(name, sizes.getOrDefault(name, 0L));
        }
        sizes.forEach(q::putIfAbsent);
        return Map.of("redis", q, "redisScheduled", admin.scheduledSize());
    }

    private Map<String, Object> failures() {
        RedisAdmin admin = node.redis().admin();
        long dlq = 0;
        for (String q : node.configuredQueues()) {
            dlq += node.kafka().deadLetters(q, 10_000).size();
        }
        return Map.of("redisRetry", admin.retrySize(), "redisDead", admin.deadSize(), "kafkaDlq", dlq,
                "failed", (long) (node.jobMetrics().failed(Backend.REDIS) + node.jobMetrics().failed(Backend.KAFKA)));
    }

    private List<Map<String, Object>> lag() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String q : node.configuredQueues()) {
            for (PartitionLag p : lagOf(q)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("topic", p.topic());
                m.put("partition", p.partition());
                m.put("lag", p.offsetLag());
                m.put("timeLagMs", p.timeLag() == null ? 0 : p.timeLag().toMillis());
                out.add(m);
            }
        }
        return out;
    }

    /** Lag of a queue's topic; a queue never used on Kafka has no topic yet, and so no lag. */
    private List<PartitionLag> lagOf(String queue) {
        try {
            return node.kafka().lag(queue);
        } catch (RuntimeException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                    return List.of();
                }
            }
            throw e;
        }
    }

    @Override
    public Map<String, Object> health() {
        Map<String, Object> h = new LinkedHashMap<>();
        boolean up = true;
        try {
            node.redis().admin().retrySize();
            h.put("redis", "UP");
        } catch (RuntimeException e) {
            h.put("redis", "DOWN: " + e.getMessage());
            up = false;
        }
        try {
            lagOf(node.configuredQueues().iterator().next());
            h.put("kafka", "UP");
        } catch (RuntimeException e) {
            h.put("kafka", "DOWN: " + e.getMessage());
            up = false;
        }
        h.put("flags", node.flags().healthy() ? "UP" : "DEGRADED: routing to Redis");
        h.put("status", up ? "UP" : "DOWN");
        return h;
    }

    @Override
    public String shadowReportJson() {
        return node.comparator().report().toJson();
    }

    @Override
    public void changeFlags(Double kafkaPercent, Boolean killSwitch, Double shadowPercent) {
        FlagsFile file = node.flagsFile();
        if (file == null) {
            throw new IllegalStateException("flags come from LaunchDarkly: change them in the LaunchDarkly dashboard");
        }
        if (kafkaPercent != null) {
            file.setKafkaPercent(kafkaPercent);
        }
        if (killSwitch != null) {
            file.setKillSwitch(killSwitch);
        }
        if (shadowPercent != null) {
            file.setShadowPercent(shadowPercent);
        }
        synchronized (this) {
            cached = null;
        }
    }
}
