package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.cli.runtime.Node;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.LongAccumulator;

/**
 * The worker process of the backlog figure, run by {@link BacklogBench} in a child JVM started as {@code ./crossfade
 * work} starts one (no JVM options: the JVM's default heap and collector), so its heap holds the worker and nothing of
 * the harness. It builds the shipped runtime, reports its heap after a full GC with the queue empty, waits for the
 * parent to enqueue the backlog (a line on stdin), reports the heap again, then drains the backlog, taking the heap
 * after a full GC at a quarter, half and three quarters of it. Results go to stdout as {@code key=value} lines.
 *
 * <pre>args: redis|kafka redisUrl bootstrap topicPrefix flagsFile jobs threads</pre>
 */
public final class BacklogWorker {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

    private BacklogWorker() {}

    public static void main(String[] args) throws Exception {
        Backend backend = Backend.parse(args[0]);
        int jobs = Integer.parseInt(args[5]);
        int threads = Integer.parseInt(args[6]);
        Probe probe = new Probe(0);
        try (Node node = ShippedNode.start(backend, args[1], args[2], args[3], args[4])) {
            WorkerRuntime rt = ShippedNode.workers(node, backend, probe, threads);
            // Connect before the first figure, as a worker process is connected while a backlog waits.
            node.checkOnce(Duration.ofSeconds(10));
            put("max-heap", Runtime.getRuntime().maxMemory());
            put("idle-heap", heapAfterGc());
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            if (!"go".equals(in.readLine())) {
                throw new IllegalStateException("expected go on stdin");
            }
            put("waiting-heap", heapAfterGc());
            LongAccumulator peak = new LongAccumulator(Math::max, 0);
            Thread sampler = new Thread(
                    () -> {
                        while (!Thread.currentThread().isInterrupted()) {
                            peak.accumulate(MEMORY.getHeapMemoryUsage().getUsed());
                            try {
                                Thread.sleep(10);
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    },
                    "heap-sampler");
            sampler.setDaemon(true);
            sampler.start();
            long draining = 0;
            long gcPause = 0;
            rt.start();
            try {
                for (int q = 1; q <= 3; q++) {
                    await(probe, (long) jobs * q / 4);
                    long t0 = System.nanoTime();
                    draining = Math.max(draining, heapAfterGc());
                    gcPause += System.nanoTime() - t0;
                }
                await(probe, jobs);
            } finally {
                rt.stop(Duration.ofSeconds(10));
            }
            sampler.interrupt();
            if (probe.failed() > 0) {
                throw new IllegalStateException(probe.failed() + " jobs failed");
            }
            put("draining-heap", draining);
            put("peak-used", peak.get());
            put("gc-pause-ns", gcPause);
            put("drain-ns", probe.lastFinish() - probe.firstStart());
            put("after-heap", heapAfterGc());
            put("finished", probe.finished());
        }
        System.out.flush();
        System.exit(0);
    }

    private static void await(Probe probe, long n) {
        if (!probe.awaitFinished(n, Duration.ofMinutes(4))) {
            throw new IllegalStateException("ran only " + probe.finished() + " of " + n);
        }
    }

    /** Heap in use after a full collection (System.gc() is a full, stop-the-world GC with the default G1). */
    private static long heapAfterGc() {
        System.gc();
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    private static void put(String key, long value) {
        System.out.println(key + "=" + value);
        System.out.flush();
    }
}
