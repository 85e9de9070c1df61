package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * An execution listener that counts finished jobs, remembers when the first one started and the last one finished,
 * and, in latency mode, records enqueue-to-start latency: arg 0 of a latency job is the {@code System.nanoTime()} at
 * which it was due to be enqueued (same JVM, so the clocks agree), and the latency is the time from then to the
 * worker's start, queueing in the producer included.
 */
final class Probe implements ExecutionListener {
    // Striped: every worker thread writes these once per job, and a shared counter would make the probe itself a
    // point of contention in the throughput it measures.
    private final LongAdder finished = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong firstStart = new AtomicLong();
    private final LongAccumulator lastFinish = new LongAccumulator(Math::max, 0);
    private final AtomicLongArray latencies;
    private final AtomicLong recorded = new AtomicLong();

    Probe(int latencySamples) {
        this.latencies = new AtomicLongArray(Math.max(1, latencySamples));
    }

    /**
     * Starts a runtime whose core reports to this probe, waits until it has run {@code n} jobs, stops it, and returns
     * jobs/s from the first start to the last finish.
     */
    double throughput(WorkerRuntime rt, int n) {
        rt.start();
        try {
            if (!awaitFinished(n, Duration.ofMinutes(3))) {
                throw new IllegalStateException("Crossfade processed only " + finished() + " of " + n);
            }
        } finally {
            rt.stop(Duration.ofSeconds(10));
        }
        if (failed() > 0) {
            throw new IllegalStateException(failed() + " no-op jobs failed");
        }
        return n / ((lastFinish() - firstStart()) / 1e9);
    }

    @Override
    public void started(Job job, Backend backend, Instant startedAt) {
        long now = System.nanoTime();
        firstStart.compareAndSet(0, now);
        if (latencies.length() > 1) {
            long due = job.args().get(0).asLong();
            long i = recorded.getAndIncrement();
            if (i < latencies.length()) {
                latencies.set((int) i, now - due);
            }
        }
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
        if (!(outcome instanceof Outcome.Succeeded)) {
            failed.increment();
        }
        lastFinish.accumulate(System.nanoTime());
        finished.increment();
    }

    long finished() {
        return finished.sum();
    }

    long failed() {
        return failed.sum();
    }

    long firstStart() {
        return firstStart.get();
    }

    long lastFinish() {
        return lastFinish.get();
    }

    /** Latencies recorded for jobs whose index is at least {@code skip} (warm-up excluded), in ns. */
    long[] latencies(int skip) {
        return latencies(skip, Integer.MAX_VALUE);
    }

    /** Latencies recorded for jobs whose index (in start order) is from {@code from} to before {@code to}, in ns. */
    long[] latencies(int from, int to) {
        int n = (int) Math.min(Math.min(recorded.get(), latencies.length()), to);
        long[] out = new long[Math.max(0, n - from)];
        for (int i = from; i < n; i++) {
            out[i - from] = latencies.get(i);
        }
        return out;
    }

    /** Waits until {@code count} jobs finished; false on the time limit. */
    boolean awaitFinished(long count, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (finished.sum() < count) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            LockSupport.parkNanos(200_000);
        }
        return true;
    }
}
