package dev.crossfade.router.shadow;

import dev.crossfade.api.execution.ShadowStore;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The shadow store of a single process, in memory: enough when one process runs both copies of every job (the demo,
 * tests). Bounded: paired jids are remembered up to a count, waiting sides until they are taken as overdue.
 */
final class LocalShadowStore implements ShadowStore {
    private static final int MAX_PAIRED = 200_000;

    private final Map<String, String> waiting = new HashMap<>();
    private final Map<String, Instant> since = new LinkedHashMap<>();
    private final Map<String, Boolean> paired = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
            return size() > MAX_PAIRED;
        }
    };
    private final Map<String, Long> counters = new LinkedHashMap<>();
    private final ArrayDeque<String> examples = new ArrayDeque<>();

    @Override
    public synchronized Paired pair(String jid, String role, String other, String json, Instant at) {
        String mine = jid + '|' + role;
        if (waiting.containsKey(mine)) {
            return new Paired(Paired.Kind.DUPLICATE, null);
        }
        String o = waiting.remove(jid + '|' + other);
        if (o != null) {
            since.remove(jid);
            paired.put(jid, Boolean.TRUE);
            return new Paired(Paired.Kind.PAIRED, o);
        }
        if (paired.containsKey(jid)) {
            return new Paired(Paired.Kind.DUPLICATE, null);
        }
        waiting.put(mine, json);
        since.putIfAbsent(jid, at);
        return new Paired(Paired.Kind.WAITING, null);
    }

    @Override
    public synchronized Map<String, String> takeOverdue(Instant cutoff) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, Instant>> it = since.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Instant> e = it.next();
            if (!e.getValue().isBefore(cutoff)) {
                continue;
            }
            it.remove();
            paired.put(e.getKey(), Boolean.TRUE);
            for (String role : List.of("primary", "shadow")) {
                if (waiting.remove(e.getKey() + '|' + role) != null) {
                    out.put(e.getKey(), role);
                }
            }
        }
        return out;
    }

    @Override
    public synchronized void count(String counter, long delta) {
        counters.merge(counter, delta, Long::sum);
    }

    @Override
    public synchronized Map<String, Long> counters() {
        return new LinkedHashMap<>(counters);
    }

    @Override
    public synchronized long pending() {
        return since.size();
    }

    @Override
    public synchronized void example(String json, int max) {
        examples.addLast(json);
        while (examples.size() > max) {
            examples.removeFirst();
        }
    }

    @Override
    public synchronized List<String> examples() {
        return new ArrayList<>(examples);
    }
}
