package dev.crossfade.flags;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.server.DataModel;
import com.launchdarkly.sdk.server.interfaces.DataStoreStatusProvider;
import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.DataStore;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.DataKind;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.FullDataSet;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.ItemDescriptor;
import com.launchdarkly.sdk.server.subsystems.DataStoreTypes.KeyedItems;

import java.io.IOException;
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
 * <p>An evaluation's reason tells an off flag, but not what the default rule could serve to other contexts. So when
 * {@link RoutingFlags} starts the SDK client itself, the SDK's data store is {@linkplain #watching watched} to read each
 * flag as it is stored; an application's own client ({@link RoutingFlags#wrap}) has only its off flags remembered.
 *
 * <p>Every write to the store, and every change the SDK reports, forgets what was remembered; a change counter keeps an
 * evaluation made before a change from being remembered after it. A remembered flag is not evaluated per job, so
 * LaunchDarkly's evaluation counts for it grow only when it changes.
 */
final class FlagMemory {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, EvaluationDetail<?>> remembered = new ConcurrentHashMap<>();
    /** Flags that are on and serve one variation to every context, as last stored. */
    private final Set<String> uniform = new HashSet<>(); // guarded by lock
    private final Object lock = new Object();
    private volatile long changes; // written under lock

    /** The remembered evaluation of {@code flag}, or null. */
    EvaluationDetail<?> get(String flag) {
        return remembered.get(flag);
    }

    /** Read before an evaluation and passed to {@link #offer}. */
    long changes() {
        return changes;
    }

    /** Remembers {@code detail} if it holds for every job and {@code flag} has not changed since {@code changesBefore}. */
    void offer(String flag, EvaluationDetail<?> detail, long changesBefore) {
        EvaluationReason reason = detail.getReason();
        if (reason == null) {
            return;
        }
        boolean off = reason.getKind() == EvaluationReason.Kind.OFF;
        if (!off && reason.getKind() != EvaluationReason.Kind.FALLTHROUGH) {
            return;
        }
        synchronized (lock) {
            if (changesBefore == changes && (off || uniform.contains(flag))) {
                remembered.put(flag, detail);
            }
        }
    }

    /** Forgets every remembered evaluation: a flag changed. */
    void forget() {
        changed(() -> { });
    }

    /** Applies {@code edit} to the uniform flags and forgets, in one step. */
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
        if (!flag.path("on").asBoolean(false) || flag.path("deleted").asBoolean(false)
                || hasAny(flag, "prerequisites") || hasAny(flag, "targets") || hasAny(flag, "contextTargets")
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

    private static boolean servesOneVariation(DataKind kind, ItemDescriptor stored) {
        if (stored == null || stored.getItem() == null) {
            return false;
        }
        try {
            return servesOneVariation(JSON.readTree(kind.serialize(stored)));
        } catch (IOException | RuntimeException e) {
            return false;
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
            changed(uniform::clear);
            store.init(data);
            // Read back from the store: the data set given may be one the SDK can iterate only once.
            Set<String> now = new HashSet<>();
            for (Map.Entry<String, ItemDescriptor> flag : store.getAll(DataModel.FEATURES).getItems()) {
                if (servesOneVariation(DataModel.FEATURES, flag.getValue())) {
                    now.add(flag.getKey());
                }
            }
            changed(() -> uniform.addAll(now));
        }

        @Override
        public boolean upsert(DataKind kind, String key, ItemDescriptor item) {
            // Segments, the other kind, cannot make a flag without rules serve two variations.
            boolean isFlag = DataModel.FEATURES.getName().equals(kind.getName());
            changed(() -> {
                if (isFlag) {
                    uniform.remove(key);
                }
            });
            boolean updated = store.upsert(kind, key, item);
            // Judged on what the store holds now: an upsert older than the stored version is ignored.
            boolean one = isFlag && servesOneVariation(kind, store.get(kind, key));
            changed(() -> {
                if (one) {
                    uniform.add(key);
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
