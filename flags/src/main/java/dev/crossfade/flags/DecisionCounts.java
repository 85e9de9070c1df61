package dev.crossfade.flags;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.launchdarkly.sdk.LDValue;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Evaluation counts kept on the deciding threads, as LaunchDarkly's summary events count them: per flag, version,
 * variation, value and default. The SDK counts an evaluation by queueing an event to its one event thread, and drops
 * events when deciding threads outrun that thread; counting here is a striped add, so every decision is counted however
 * fast they come. {@link #drain()} takes what was counted as a summary event, and {@link #restore} gives back one that
 * could not be sent.
 */
final class DecisionCounts {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One line of a summary event: evaluations of a flag at one version that served one variation. */
    static final class Counter {
        final String flag;
        final int version;
        final int variation;
        final LDValue value;
        final LDValue defaultValue;
        private final LongAdder count = new LongAdder();
        /** Drains in a row that found nothing; read and written by the draining thread only. */
        private int idleDrains;

        private Counter(String flag, int version, int variation, LDValue value, LDValue defaultValue) {
            this.flag = flag;
            this.version = version;
            this.variation = variation;
            this.value = value;
            this.defaultValue = defaultValue;
        }

        void increment() {
            count.increment();
        }

        private boolean is(int version, int variation, LDValue value, LDValue defaultValue) {
            return this.version == version
                    && this.variation == variation
                    && this.value.equals(value)
                    && this.defaultValue.equals(defaultValue);
        }
    }

    /** Per flag, its counters: a handful (versions times variations), so a scan beats hashing a key. */
    private final Map<String, List<Counter>> byFlag = new ConcurrentHashMap<>();

    private volatile long since = System.currentTimeMillis();

    /** Counts one evaluation. */
    void count(String flag, int version, int variation, LDValue value, LDValue defaultValue) {
        counter(flag, version, variation, value, defaultValue).increment();
    }

    /** The counter for these, created on first use; {@link FlagMemory} keeps it with a remembered evaluation. */
    Counter counter(String flag, int version, int variation, LDValue value, LDValue defaultValue) {
        LDValue v = value == null ? LDValue.ofNull() : value;
        LDValue d = defaultValue == null ? LDValue.ofNull() : defaultValue;
        List<Counter> counters = byFlag.get(flag);
        if (counters != null) {
            for (Counter c : counters) {
                if (c.is(version, variation, v, d)) {
                    return c;
                }
            }
        }
        synchronized (byFlag) {
            List<Counter> now = byFlag.getOrDefault(flag, List.of());
            for (Counter c : now) {
                if (c.is(version, variation, v, d)) {
                    return c;
                }
            }
            // Copied on write: readers scan without a lock. Newest first, so the current version is found first.
            List<Counter> next = new ArrayList<>(now.size() + 1);
            Counter c = new Counter(flag, version, variation, v, d);
            next.add(c);
            next.addAll(now);
            byFlag.put(flag, List.copyOf(next));
            return c;
        }
    }

    /**
     * What was counted since the last drain, as a LaunchDarkly summary event, the counters lowered by as much (counts
     * added meanwhile stay); null when nothing was counted. Called from one thread at a time.
     */
    ObjectNode drain() {
        ObjectNode summary = summarize();
        prune();
        return summary;
    }

    /**
     * Drops counters of a flag's older versions that counted nothing in two drains: a flag change makes its memory
     * forget, so only a decision already under way can still count there, and none lasts that long. Keeps the scans in
     * {@link #counter} short however often flags change.
     */
    private void prune() {
        synchronized (byFlag) {
            for (Map.Entry<String, List<Counter>> e : byFlag.entrySet()) {
                int newest =
                        e.getValue().stream().mapToInt(c -> c.version).max().orElse(-1);
                if (e.getValue().stream().anyMatch(c -> c.version < newest && c.idleDrains >= 2)) {
                    e.setValue(e.getValue().stream()
                            .filter(c -> c.version >= newest || c.idleDrains < 2)
                            .toList());
                }
            }
        }
    }

    private ObjectNode summarize() {
        long start = since;
        long end = System.currentTimeMillis();
        since = end;
        ObjectNode features = JSON.createObjectNode();
        for (List<Counter> counters : byFlag.values()) {
            for (Counter c : counters) {
                long n = c.count.sum();
                if (n == 0) {
                    c.idleDrains++;
                    continue;
                }
                c.idleDrains = 0;
                c.count.add(-n);
                ObjectNode flag = (ObjectNode) features.get(c.flag);
                if (flag == null) {
                    flag = features.putObject(c.flag);
                    flag.set("default", json(c.defaultValue));
                    flag.putArray("contextKinds").add(RoutingFlags.JOB_KIND.toString());
                    flag.putArray("counters");
                }
                ObjectNode line = ((ArrayNode) flag.get("counters")).addObject();
                if (c.variation >= 0) {
                    line.put("variation", c.variation);
                }
                if (c.version >= 0) {
                    line.put("version", c.version);
                } else {
                    line.put("unknown", true);
                }
                line.set("value", json(c.value));
                line.put("count", n);
            }
        }
        if (features.isEmpty()) {
            return null;
        }
        ObjectNode summary = JSON.createObjectNode()
                .put("kind", "summary")
                .put("startDate", start)
                .put("endDate", end);
        summary.set("features", features);
        return summary;
    }

    /** Counts a drained summary again, to be sent with the next one. */
    void restore(ObjectNode summary) {
        summary.path("features").fields().forEachRemaining(flag -> {
            for (var line : flag.getValue().path("counters")) {
                counter(
                                flag.getKey(),
                                line.has("version") ? line.path("version").asInt() : -1,
                                line.has("variation") ? line.path("variation").asInt() : -1,
                                LDValue.parse(line.path("value").toString()),
                                LDValue.parse(flag.getValue().path("default").toString()))
                        .count
                        .add(line.path("count").asLong());
            }
        });
        since = Math.min(since, summary.path("startDate").asLong(since));
    }

    private static com.fasterxml.jackson.databind.JsonNode json(LDValue v) {
        try {
            return JSON.readTree(v.toJsonString());
        } catch (IOException e) {
            return JSON.nullNode();
        }
    }
}
