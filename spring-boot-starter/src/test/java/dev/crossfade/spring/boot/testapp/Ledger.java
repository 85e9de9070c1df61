package dev.crossfade.spring.boot.testapp;

import dev.crossfade.api.Backend;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.stereotype.Component;

/** What the worker bean ran: how many times each jid finished, and on which backend. */
@Component
public class Ledger {
    private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    private final Map<String, Backend> backends = new ConcurrentHashMap<>();

    void finished(String jid, Backend backend) {
        backends.put(jid, backend);
        runs.computeIfAbsent(jid, j -> new AtomicInteger()).incrementAndGet();
    }

    public int runs(String jid) {
        AtomicInteger n = runs.get(jid);
        return n == null ? 0 : n.get();
    }

    public Backend backend(String jid) {
        return backends.get(jid);
    }

    public int finishedJobs() {
        return runs.size();
    }

    public java.util.Set<String> finishedJids() {
        return Map.copyOf(runs).keySet();
    }
}
