package dev.crossfade.tools.demo;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The demo's accounting: every jid enqueued, every run per jid, and per phase what each backend processed and the
 * enqueue-to-start latencies. {@code lost} is what was enqueued but neither ran nor died.
 */
final class DemoLedger implements ExecutionListener {
    /** Counters of one phase. */
    static final class Phase {
        final String name;
        final AtomicLong enqueued = new AtomicLong();
        final AtomicLong processedRedis = new AtomicLong();
        final AtomicLong processedKafka = new AtomicLong();
        final List<Long> latencyMicros = Collections.synchronizedList(new ArrayList<>());
        volatile long toRedis;
        volatile long toKafka;
        volatile long fallbacks;
        volatile long shadowMatched;
        volatile long shadowMismatched;
        volatile long maxLag;

        Phase(String name) {
            this.name = name;
        }
    }

    final Set<String> enqueued = ConcurrentHashMap.newKeySet();
    final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();
    final Set<String> dead = ConcurrentHashMap.newKeySet();
    final AtomicReference<Phase> current = new AtomicReference<>();

    void enqueued(List<Job> jobs) {
        jobs.forEach(j -> enqueued.add(j.jid()));
        current.get().enqueued.addAndGet(jobs.size());
    }

    @Override
    public void started(Job job, Backend backend, Instant startedAt) {
        if (!job.shadow() && job.enqueuedAt() != null) {
            current.get()
                    .latencyMicros
                    .add(Duration.between(job.enqueuedAt(), startedAt).toNanos() / 1000);
        }
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
        if (job.shadow()) {
            return;
        }
        if (outcome instanceof Outcome.Succeeded s && s.ran()) {
            runs.computeIfAbsent(job.jid(), k -> new AtomicInteger()).incrementAndGet();
            (backend == Backend.KAFKA ? current.get().processedKafka : current.get().processedRedis).incrementAndGet();
        } else if (outcome instanceof Outcome.Dead) {
            dead.add(job.jid());
        }
    }

    long lost() {
        return enqueued.stream()
                .filter(j -> !runs.containsKey(j) && !dead.contains(j))
                .count();
    }

    long duplicates() {
        return runs.values().stream().filter(c -> c.get() > 1).count();
    }

    boolean allAccountedFor() {
        return lost() == 0;
    }
}
