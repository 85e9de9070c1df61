package dev.crossfade.flags;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.DataModel;
import com.launchdarkly.sdk.server.interfaces.DataStoreStatusProvider;
import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.DataStore;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.DataKind;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.FullDataSet;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.ItemDescriptor;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.KeyedItems;
import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Evaluations that hold for every job, remembered until their flag changes. A flag that is off serves its off
 * variation to everyone. So does a flag that is on with no prerequisites, targets or rules and whose default rule
 * serves one variation (outright, or as a rollout with one variation at 100%): a flag at 0% or 100%, or a kill switch
 * at rest. Remembering them spares the SDK most of a routing decision, and the job's context altogether when every flag
 * is one of them.
 *
 * <p>The SDK's data store is {@linkplain #watching watched} to read each flag as it is stored: an evaluation's reason
 * tells an off flag, but not what the default rule could serve to other contexts, nor the flag's version.
 *
 * <p>LaunchDarkly still counts every decision: a remembered evaluation comes with its counter in
 * {@link DecisionCounts} (flag version, variation, value, default: what the SDK would have counted), incremented for
 * each decision it serves. A flag that asks for more than counts (full events for every evaluation, or debugging) is
 * never remembered, since those events name each job's own context.
 *
 * <p>Every write to the store, and every change the SDK reports, forgets what was remembered; a change counter keeps an
 * evaluation made before a change from being remembered after it.
 */
final class FlagMemory {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A remembered evaluation, and where each decision it serves is counted. */
    record Remembered(EvaluationDetail<?> detail, DecisionCounts.Counter counter) {}

    /** What the store holds of a flag, as far as remembering goes. */
    private record Stored(int version, boolean uniform, boolean countsOnly) {}

    private final DecisionCounts counts;
    private final Map<String, Remembered> remembered = new ConcurrentHashMap<>();
    /** Every flag as last stored. */
    private final Map<String, Stored> stored = new HashMap<>(); // guarded by lock

    private final Object lock = new Object();
    private volatile long changes; // written under lock

    FlagMemory(DecisionCounts counts) {
        this.counts = counts;
    }

    /** The remembered evaluation of {@code flag}, or null. */
    Remembered get(String flag) {
        return remembered.get(flag);
    }

    /** Read before an evaluation and passed to {@link #offer}. */
    long changes() {
        return changes;
    }

    /**
     * Remembers {@code detail}, evaluated with {@code defaultValue}, if it holds for every job and {@code flag} has not
     * changed since {@code changesBefore}.
     */
    void offer(String flag, EvaluationDetail<?> detail, LDValue defaultValue, long changesBefore) {
        EvaluationReason reason = detail.getReason();
        if (reason == null) {
            return;
        }
        boolean off = reason.getKind() == EvaluationReason.Kind.OFF;
        if (!off && reason.getKind() != EvaluationReason.Kind.FALLTHROUGH) {
            return;
        }
        synchronized (lock) {
            Stored s = stored.get(flag);
            if (changesBefore == changes && s != null && s.countsOnly() && (off || s.uniform())) {
                remembered.put(
                        flag,
                        new Remembered(
                                detail,
                                counts.counter(
                                        flag,
                                        s.version(),
                                        detail.getVariationIndex(),
                                        valueOf(detail.getValue()),
                                        defaultValue)));
            }
        }
    }

    /** Forgets every remembered evaluation: a flag changed. */
    void forget() {
        changed(() -> {});
    }

    private static LDValue valueOf(Object value) {
        if (value instanceof Boolean b) {
            return LDValue.of(b);
        }
        if (value instanceof String str) {
            return LDValue.of(str);
        }
        return value instanceof LDValue v ? v : LDValue.ofNull();
    }

    /** Applies {@code edit} to the stored flags and forgets, in one step. */
    private void changed(Runnable edit) {
        synchronized (lock) {
            edit.run();
            changes++;
            remembered.clear();
        }
    }

    /** The SDK's data store {@code store}, watched so that this memory knows which flags serve one variation. */
    ComponentConfigurer<DataStore> watching(ComponentConfigurer<DataStore> store) {
        return context -> new WatchedStore(store.build(context));
    }

    /**
     * Whether a stored flag, in LaunchDarkly's flag JSON, serves one variation to every context when it is on. Anything
     * unexpected answers false: the flag is then evaluated for each job, as any other.
     */
    static boolean servesOneVariation(JsonNode flag) {
        if (!flag.path("on").asBoolean(false)
                || flag.path("deleted").asBoolean(false)
                || hasAny(flag, "prerequisites")
                || hasAny(flag, "targets")
                || hasAny(flag, "contextTargets")
                || hasAny(flag, "rules")) {
            return false;
        }
        JsonNode fallthrough = flag.path("fallthrough");
        if (fallthrough.path("variation").isInt()) {
            return true;
        }
        JsonNode weighted = fallthrough.path("rollout").path("variations");
        if (!weighted.isArray() || weighted.isEmpty()) {
            return false;
        }
        // A context's bucket picks the first variation whose cumulative weight passes it, else the last one listed.
        Set<Integer> served = new HashSet<>();
        for (JsonNode v : weighted) {
            if (v.path("weight").asInt(0) > 0) {
                served.add(v.path("variation").asInt(-1));
            }
        }
        served.add(weighted.get(weighted.size() - 1).path("variation").asInt(-1));
        return served.size() == 1 && !served.contains(-1);
    }

    private static boolean hasAny(JsonNode flag, String field) {
        JsonNode n = flag.path(field);
        return !n.isMissingNode() && !n.isNull() && !(n.isArray() && n.isEmpty());
    }

    /**
     * Whether a stored flag, in LaunchDarkly's flag JSON, asks the SDK for nothing but counts: no full event per
     * evaluation (for all, or for the default rule's), no debugging under way and no opting out of the counts. Full and
     * debug events name each job's own context, so such a flag is evaluated for each job.
     */
    static boolean countsOnly(JsonNode flag) {
        return !flag.path("trackEvents").asBoolean(false)
                && !flag.path("trackEventsFallthrough").asBoolean(false)
                && flag.path("debugEventsUntilDate").asLong(0) <= System.currentTimeMillis()
                && !flag.path("excludeFromSummaries").asBoolean(false);
    }

    /** What {@code item}, as stored, means here; null for a deleted or unreadable flag. */
    private static Stored read(ItemDescriptor item) {
        if (item == null || item.getItem() == null) {
            return null;
        }
        try {
            JsonNode flag = JSON.readTree(DataModel.FEATURES.serialize(item));
            return new Stored(item.getVersion(), servesOneVariation(flag), countsOnly(flag));
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Forgets before and after each write: an evaluation that overlaps the write, reading the old flag or the new one,
     * fails the change counter or is forgotten by the second step.
     */
    private final class WatchedStore implements DataStore {
        private final DataStore store;

        WatchedStore(DataStore store) {
            this.store = store;
        }

        @Override
        public void init(FullDataSet<ItemDescriptor> data) {
            changed(stored::clear);
            store.init(data);
            // Read back from the store: the data set given may be one the SDK can iterate only once.
            Map<String, Stored> now = new HashMap<>();
            for (Map.Entry<String, ItemDescriptor> flag :
                    store.getAll(DataModel.FEATURES).getItems()) {
                Stored s = read(flag.getValue());
                if (s != null) {
                    now.put(flag.getKey(), s);
                }
            }
            changed(() -> stored.putAll(now));
        }

        @Override
        public boolean upsert(DataKind kind, String key, ItemDescriptor item) {
            // Segments, the other kind, cannot make a flag without rules serve two variations.
            boolean isFlag = DataModel.FEATURES.getName().equals(kind.getName());
            changed(() -> {
                if (isFlag) {
                    stored.remove(key);
                }
            });
            boolean updated = store.upsert(kind, key, item);
            // Judged on what the store holds now: an upsert older than the stored version is ignored.
            Stored now = isFlag ? read(store.get(kind, key)) : null;
            changed(() -> {
                if (now != null) {
                    stored.put(key, now);
                }
            });
            return updated;
        }

        @Override
        public ItemDescriptor get(DataKind kind, String key) {
            return store.get(kind, key);
        }

        @Override
        public KeyedItems<ItemDescriptor> getAll(DataKind kind) {
            return store.getAll(kind);
        }

        @Override
        public boolean isInitialized() {
            return store.isInitialized();
        }

        @Override
        public boolean isStatusMonitoringEnabled() {
            return store.isStatusMonitoringEnabled();
        }

        @Override
        public DataStoreStatusProvider.CacheStats getCacheStats() {
            return store.getCacheStats();
        }

        @Override
        public void close() throws IOException {
            store.close();
        }
    }
}
