package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.JobQueue;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A large backlog: the heap of a worker process (a child JVM running {@link BacklogWorker}) with the backlog waiting
 * and while it drains it, against the same process with the queue empty, and the time it takes to drain, on each
 * backend: no-op jobs, 10 threads, the shipped runtime with its defaults.
 */
final class BacklogBench {
    static final int THREADS = 10;
    private static final String PREFIX = "bench-backlog";

    private final BenchContext ctx;
    private final int jobs;
    /** Each backend's 10-thread no-op rate from the scaling figure of this run, when it ran. */
    private final Map<Backend, Double> noop10;

    BacklogBench(BenchContext ctx, boolean quick, Map<Backend, Double> noop10) {
        this.ctx = ctx;
        this.jobs = quick ? 100_000 : 1_000_000;
        this.noop10 = noop10;
    }

    void run(Report report) {
        Report.Section s = report.section("Backlog");
        Map<String, Long> redis = backend(s, Backend.REDIS);
        Map<String, Long> kafka = backend(s, Backend.KAFKA);
        s.note(String.format(
                Locale.ROOT,
                "Worker process: a child JVM started as `./crossfade work` starts one (no JVM options, so the JVM's "
                        + "default heap, max %s here, and G1), running the runtime `crossfade work --backends B "
                        + "--concurrency %d` builds (default settings, run-once guard included) on the no-op job. Heap "
                        + "in use is `MemoryMXBean` heap used in that process right after `System.gc()` (a full "
                        + "collection): with the queue empty (runtime built, connections checked, not started), with "
                        + "the %,d jobs waiting (enqueued by the harness, runtime not yet started), and while draining "
                        + "(the largest of three taken at a quarter, half and three quarters drained). Peak heap in use "
                        + "without forcing a collection (sampled every 10 ms while draining): Redis %s, Kafka %s.",
                mb(redis.get("max-heap")),
                THREADS,
                jobs,
                mb(redis.get("peak-used")),
                mb(kafka.get("peak-used"))));
        s.note(String.format(
                Locale.ROOT,
                "Drain: from the first job's start to the last job's finish in the worker process, less the three "
                        + "forced collections (Redis %.0f ms, Kafka %.0f ms in all), in a fresh JVM, so the JIT "
                        + "compiles while it drains, as in a worker restarted on a backlog; the backlog was enqueued "
                        + "in batches of %,d before the runtime started (Redis `queue:default`; Kafka topic "
                        + "`%s.default`, %d partitions, group mode). Reference: the same runtime's 10-thread no-op "
                        + "rate in the scaling table of this run (a short queue), when it ran. Figures taken on 2 "
                        + "shared cores while other builds may run.",
                redis.get("gc-pause-ns") / 1e6,
                kafka.get("gc-pause-ns") / 1e6,
                RedisBench.BATCH,
                PREFIX,
                KafkaBench.PARTITIONS));
    }

    private Map<String, Long> backend(Report.Section s, Backend b) {
        String name = b == Backend.REDIS ? "Redis" : "Kafka";
        String bootstrap = b == Backend.KAFKA ? ctx.kafka().bootstrapServers() : "";
        RedisBackend redis = RedisBackend.create(
                RedisBackendConfig.custom().url(ctx.redis().uri()).build());
        KafkaBackend kafka = b == Backend.KAFKA
                ? KafkaBackend.create(KafkaBackendConfig.custom()
                        .bootstrapServers(bootstrap)
                        .topicPrefix(PREFIX)
                        .build())
                : null;
        Map<String, Long> r;
        try {
            redis.redis().flushAll();
            r = measure(b, bootstrap, kafka != null ? kafka.queue() : redis.queue());
            if (b == Backend.REDIS) {
                long left = redis.redis().llen(redis.key("queue:default"));
                if (left != 0) {
                    throw new IllegalStateException(left + " jobs left in queue:default after the drain");
                }
            }
        } finally {
            if (kafka != null) {
                kafka.close();
            }
            redis.close();
        }
        long idle = r.get("idle-heap");
        // The forced collections are the measurement's, not the drain's: every worker thread waits while they run.
        double drainS = (r.get("drain-ns") - r.get("gc-pause-ns")) / 1e9;
        s.row(new Report.Row(
                name + ", heap in use with " + String.format(Locale.ROOT, "%,d", jobs) + " jobs waiting",
                mb(r.get("waiting-heap")),
                "the same worker process, queue empty",
                mb(idle),
                Report.ratio((double) r.get("waiting-heap") / idle),
                "(report)",
                null));
        s.row(new Report.Row(
                name + ", heap in use while draining them, " + THREADS + " threads",
                mb(r.get("draining-heap")),
                "the same worker process, queue empty",
                mb(idle),
                Report.ratio((double) r.get("draining-heap") / idle),
                "(report)",
                null));
        Double ref = noop10.get(b);
        s.row(new Report.Row(
                name + ", time to drain " + String.format(Locale.ROOT, "%,d", jobs) + " no-op jobs, " + THREADS
                        + " threads",
                String.format(Locale.ROOT, "%.1f s (%s)", drainS, Report.rate(jobs / drainS)),
                "10-thread no-op rate, scaling table",
                ref == null ? "(not run)" : Report.rate(ref),
                ref == null ? "—" : Report.percent(jobs / drainS / ref),
                "(report)",
                null));
        return r;
    }

    /** Starts the worker JVM, enqueues the backlog once it reported its idle heap, and returns what it reported. */
    private Map<String, Long> measure(Backend b, String bootstrap, JobQueue queue) {
        String backend = b.name().toLowerCase(Locale.ROOT);
        Path log = ctx.work().resolve("backlog-" + backend + ".log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = Child.start(
                List.of(
                        java,
                        "-cp",
                        classPath(),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        BacklogWorker.class.getName(),
                        backend,
                        ctx.redis().uri().toString(),
                        bootstrap,
                        PREFIX,
                        ctx.work().resolve("flags.json").toString(),
                        Integer.toString(jobs),
                        Integer.toString(THREADS)),
                Map.of(),
                ctx.work(),
                log);
        try {
            awaitKey(p, log, "idle-heap", Duration.ofMinutes(1));
            long t0 = System.nanoTime();
            for (int i = 0; i < jobs; i += RedisBench.BATCH) {
                queue.enqueueAll(ctx.payloads().batch(i, Math.min(RedisBench.BATCH, jobs - i)));
            }
            System.out.printf(
                    Locale.ROOT,
                    "[bench] backlog %s: %,d jobs enqueued in %.1f s%n",
                    backend,
                    jobs,
                    (System.nanoTime() - t0) / 1e9);
            try (OutputStream in = p.getOutputStream()) {
                in.write("go\n".getBytes(StandardCharsets.UTF_8));
            }
            if (!p.waitFor(5, TimeUnit.MINUTES)) {
                throw new IllegalStateException("the backlog worker did not finish: " + Child.read(log));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(
                        "the backlog worker exited with " + p.exitValue() + ": " + Child.read(log));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot signal the backlog worker: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            if (p.isAlive()) {
                Child.stop(p);
            }
        }
        Map<String, Long> r = values(Child.read(log));
        if (r.getOrDefault("finished", 0L) != jobs) {
            throw new IllegalStateException("the backlog worker ran " + r.get("finished") + " of " + jobs + " jobs");
        }
        r.forEach((k, v) -> System.out.printf(Locale.ROOT, "[bench] backlog %s %s=%,d%n", backend, k, v));
        return r;
    }

    /** This JVM's class path with every entry absolute (the child runs in the scratch directory). */
    private static String classPath() {
        StringBuilder cp = new StringBuilder();
        for (String e : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!e.isEmpty()) {
                cp.append(cp.length() == 0 ? "" : java.io.File.pathSeparator)
                        .append(Path.of(e).toAbsolutePath());
            }
        }
        return cp.toString();
    }

    private static void awaitKey(Process p, Path log, String key, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!values(Child.read(log)).containsKey(key)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("the backlog worker did not report " + key + ": " + Child.read(log));
            }
            LockSupport.parkNanos(50_000_000);
        }
    }

    private static Map<String, Long> values(String out) {
        Map<String, Long> m = new HashMap<>();
        for (String line : out.split("\r?\n")) {
            int eq = line.indexOf('=');
            if (eq > 0 && line.substring(0, eq).matches("[a-z-]+")) {
                try {
                    m.put(
                            line.substring(0, eq),
                            Long.parseLong(line.substring(eq + 1).trim()));
                } catch (NumberFormatException e) {
                    // a log line that merely looks like one of ours
                }
            }
        }
        return m;
    }

    private static String mb(Long bytes) {
        return bytes == null ? "?" : String.format(Locale.ROOT, "%,.1f MB", bytes / 1e6);
    }
}
