package dev.crossfade.redis.internal;

import dev.crossfade.api.Backend;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worker pool: {@code concurrency} threads take fetched jobs from the local hand-off queue, run them through the
 * shared {@link ExecutionCore}, and pass the outcome to the {@link Acknowledger}. Also keeps what Sidekiq's Web UI
 * shows: the busy jobs per thread and the processed/failed counts flushed by the heartbeat.
 */
public final class Processor {
    /** What a busy thread is doing, in the shape of Sidekiq's {@code <identity>:workers} hash values. */
    public record Work(String queue, String payload, long runAt) {
    }

    private final ExecutionCore core;
    private final BlockingQueue<Fetched> local;
    private final Semaphore fetchPermits;
    private final Acknowledger acker;
    private final List<Thread> threads = new ArrayList<>();
    private final Map<String, Work> busy = new ConcurrentHashMap<>();
    private final Map<Thread, Fetched> running = new ConcurrentHashMap<>();
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean stopping;

    public Processor(ExecutionCore core, int concurrency, BlockingQueue<Fetched> local, Semaphore fetchPermits,
                     Acknowledger acker, String threadPrefix) {
        this.core = core;
        this.local = local;
        this.fetchPermits = fetchPermits;
        this.acker = acker;
        for (int i = 0; i < concurrency; i++) {
            Thread t = new Thread(this::run, threadPrefix + "-" + i);
            t.setDaemon(true);
            threads.add(t);
        }
    }

    public void start() {
        threads.forEach(Thread::start);
    }

    private void run() {
        String tid = Long.toString(Thread.currentThread().getId(), 36);
        while (!stopping) {
            Fetched f;
            try {
                f = local.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                if (stopping) {
                    return;
                }
                continue;
            }
            if (f == null) {
                continue;
            }
            try {
                if (f.start()) {
                    process(tid, f);
                }
            } finally {
                fetchPermits.release();
            }
        }
    }

    private void process(String tid, Fetched f) {
        running.put(Thread.currentThread(), f);
        busy.put(tid, new Work(f.queue, new String(f.payload, StandardCharsets.UTF_8), Instant.now().getEpochSecond()));
        Outcome outcome;
        try {
            outcome = core.execute(f.payload, Backend.REDIS, f.queue);
        } finally {
            busy.remove(tid);
            running.remove(Thread.currentThread());
        }
        processed.incrementAndGet();
        if (!(outcome instanceof Outcome.Succeeded)) {
            failed.incrementAndGet();
        }
        if (f.finish()) {
            acker.submit(f, outcome);
        }
        // Else a shutdown gave up waiting and already pushed the job back: this late outcome must not be written.
        Thread.interrupted(); // do not carry a shutdown interrupt into the next job
    }

    /** Tells threads to exit after their current job. */
    public void stopTaking() {
        stopping = true;
    }

    /** Waits for threads to finish their current job. @return true if all exited before the deadline */
    public boolean awaitIdle(long deadlineNanos) {
        for (Thread t : threads) {
            long left = deadlineNanos - System.nanoTime();
            if (left > 0) {
                try {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        return threads.stream().noneMatch(Thread::isAlive);
    }

    /**
     * Takes back the jobs of threads still running after the shutdown timeout and interrupts those threads (as
     * Sidekiq raises Shutdown in them). @return the jobs taken back, to be requeued
     */
    public List<Fetched> abandonRunning() {
        List<Fetched> taken = new ArrayList<>();
        for (Map.Entry<Thread, Fetched> e : running.entrySet()) {
            if (e.getValue().abandon()) {
                taken.add(e.getValue());
                e.getKey().interrupt();
            }
        }
        return taken;
    }

    public Map<String, Work> busy() {
        return busy;
    }

    /** Returns and resets the processed count, for the heartbeat's stats flush. */
    public long takeProcessed() {
        return processed.getAndSet(0);
    }

    public long takeFailed() {
        return failed.getAndSet(0);
    }

    /** Gives back counts a failed stats flush could not write, so they are not lost. */
    public void restoreCounts(long processedCount, long failedCount) {
        processed.addAndGet(processedCount);
        failed.addAndGet(failedCount);
    }
}
