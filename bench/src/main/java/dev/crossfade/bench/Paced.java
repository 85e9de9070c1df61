package dev.crossfade.bench;

import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A steady producer: single-job enqueues at a fixed rate, each stamped with the time it was due (not the time it was
 * sent), so a stalled producer shows up as latency instead of hiding it (no coordinated omission). Enqueues run on a
 * small pool because a Kafka enqueue blocks until the broker's ack, which takes longer than the gap between jobs.
 */
final class Paced {
    private Paced() {}

    /** Enqueues {@code count} jobs at {@code perSecond}; returns the number of enqueue failures. */
    static long run(JobQueue queue, Payloads payloads, int perSecond, int count, int threads) {
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "bench-producer");
            t.setDaemon(true);
            return t;
        });
        AtomicLong failures = new AtomicLong();
        long gap = 1_000_000_000L / perSecond;
        long start = System.nanoTime() + 10_000_000L;
        for (int i = 0; i < count; i++) {
            long due = start + i * gap;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            pool.execute(() -> {
                try {
                    Job job = Job.builder(Payloads.CLASS)
                            .args(due, payloads.filler())
                            .build();
                    queue.enqueue(job);
                } catch (RuntimeException e) {
                    failures.incrementAndGet();
                }
            });
        }
        pool.shutdown();
        try {
            pool.awaitTermination(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return failures.get();
    }

    static Duration duration(int perSecond, int count) {
        return Duration.ofMillis(1000L * count / perSecond);
    }
}
