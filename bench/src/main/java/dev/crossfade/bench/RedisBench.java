package dev.crossfade.bench;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.redis.RedisJobQueue;
import dev.crossfade.redis.RedisWorkerRuntime;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Redis figures, each beside its reference on the same fresh redis-server: bulk enqueue against Ruby Sidekiq's
 * {@code push_bulk} and {@code redis-benchmark}; no-op processing with reliable fetch against a Sidekiq 6.4 process;
 * enqueue-to-start latency at a steady rate against the goal.
 */
final class RedisBench {
    static final int BATCH = 1_000;
    static final int THREADS = 10;
    private static final int WARM_CHUNK = 20_000;
    private static final int WARM_STEADY = 3;
    private static final int WARM_MIN = 600_000;
    private static final int WARM_MAX = 2_000_000;

    private final BenchContext ctx;
    private final RedisBackend backend;
    /** Sidekiq 8.1.7 on JRuby (the shared kit), or null when it is not installed. */
    private final Path kit8 = Sidekiq8Kit.find();

    RedisBench(BenchContext ctx) {
        this.ctx = ctx;
        this.backend = RedisBackend.create(
                RedisBackendConfig.custom().url(ctx.redis().uri()).build());
    }

    void run(Report report) {
        try {
            Report.Section s = report.section("Redis");
            enqueueMany(s);
            processing(s);
            new ShippedRedisBench(ctx, this).run(s);
            latency(s);
            s.note("Payload: class `NoopJob`, args `[n, \"x…\"]`, "
                    + ctx.payloads().encodedSize()
                    + " bytes of Sidekiq JSON per job; the same jobs (same JSON) for Crossfade and Sidekiq.");
        } finally {
            backend.close();
        }
    }

    // ---- 1. enqueue-many ----

    private void enqueueMany(Report.Section s) {
        int n = ctx.jobs();
        RedisJobQueue queue = backend.queue();
        // JIT warm-up of the Java path; Ruby has no JIT to warm.
        int warmUp = warmUp(queue);
        List<Double> cf = new ArrayList<>();
        List<Double> rb = new ArrayList<>();
        List<Double> raw = new ArrayList<>();
        List<Double> rb8 = new ArrayList<>();
        for (int round = 0; round < ctx.rounds(); round++) {
            if (kit8 != null) {
                flush();
                rb8.add(n / pushBulk(kit8.resolve("bin/ruby").toString(), n));
            }
            flush();
            rb.add(n / pushBulk("ruby", n));
            flush();
            long t0 = System.nanoTime();
            enqueueAll(queue, 0, n);
            cf.add(n / ((System.nanoTime() - t0) / 1e9));
            check(n);
            flush();
            raw.add(redisBenchmark(n));
        }
        double c = Stats.median(cf);
        double r = Stats.median(rb);
        double b = Stats.median(raw);
        s.row(new Report.Row(
                "enqueue " + n + " jobs in batches of " + BATCH,
                Report.rate(c),
                "Ruby Sidekiq `push_bulk`",
                Report.rate(r),
                Report.ratio(c / r),
                "≥ 2×",
                c / r >= 2));
        if (kit8 != null) {
            double r8 = Stats.median(rb8);
            s.row(new Report.Row(
                    "enqueue " + n + " jobs in batches of " + BATCH,
                    Report.rate(c),
                    "Sidekiq 8.1.7 on JRuby `push_bulk`",
                    Report.rate(r8),
                    Report.ratio(c / r8),
                    "(report)",
                    null));
        }
        s.row(new Report.Row(
                "enqueue (raw client ceiling)",
                Report.rate(c),
                "`redis-benchmark -t lpush -P " + BATCH + "`",
                String.format(java.util.Locale.ROOT, "%,.0f LPUSH/s", b),
                Report.percent(c / b),
                "(context)",
                null));
        s.note("Enqueue: median of " + ctx.rounds() + " rounds each, alternating; Crossfade `RedisJobQueue.enqueueAll` "
                + "on one thread, timed including building the `Job` objects (as `push_bulk`'s time includes building "
                + "its payloads), after a JIT warm-up of "
                + String.format(java.util.Locale.ROOT, "%,d", warmUp)
                + " jobs (until its rate stopped rising). Sidekiq: `push_bulk` of " + BATCH
                + " args per call (6.4 has no batch_size option; 1,000 is Sidekiq's recommended maximum), "
                + "timed inside Ruby. redis-benchmark: `-t lpush -n " + n + " -d " + Payloads.TARGET_BYTES + " -c 1 -P "
                + BATCH + "`, the same batch shape with no encoding at all.");
    }

    /**
     * Enqueues at least {@link #WARM_MIN} jobs, then chunks until the rate has stopped rising for {@link #WARM_STEADY}
     * chunks in a row, at most {@link #WARM_MAX} jobs, and returns how many it enqueued. With the cores shared, the
     * JIT's compiles wait their turn: the path ran at a fifth of its warmed rate for its first 400,000 jobs, at a rate
     * flat enough to pass for steady.
     */
    private int warmUp(RedisJobQueue queue) {
        int done = 0;
        int steady = 0;
        double best = 0;
        while (done < WARM_MIN || done < WARM_MAX && steady < WARM_STEADY) {
            flush();
            long t0 = System.nanoTime();
            enqueueAll(queue, done, WARM_CHUNK);
            double rate = WARM_CHUNK / ((System.nanoTime() - t0) / 1e9);
            done += WARM_CHUNK;
            steady = rate > best * 1.05 ? 0 : steady + 1;
            best = Math.max(best, rate);
        }
        flush();
        return done;
    }

    private void enqueueAll(RedisJobQueue queue, long from, int n) {
        enqueueAll(queue, Payloads.CLASS, from, n);
    }

    void enqueueAll(RedisJobQueue queue, String className, long from, int n) {
        for (int i = 0; i < n; i += BATCH) {
            queue.enqueueAll(ctx.payloads().batch(className, from + i, Math.min(BATCH, n - i)));
        }
    }

    /** Runs push_bulk.rb with {@code ruby} and returns its elapsed seconds. */
    private double pushBulk(String ruby, int n) {
        Path script = ctx.resource("ruby/push_bulk.rb");
        String out = Child.run(
                List.of(
                        ruby,
                        script.toString(),
                        Integer.toString(n),
                        ctx.payloads().filler(),
                        Integer.toString(BATCH)),
                Map.of("REDIS_URL", ctx.redis().uri().toString()),
                ctx.work(),
                Duration.ofMinutes(3));
        Matcher m = Pattern.compile("elapsed_s=([0-9.eE+-]+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("push_bulk.rb printed no time: " + out);
        }
        check(n);
        return Double.parseDouble(m.group(1));
    }

    private double redisBenchmark(int n) {
        String out = Child.run(
                List.of(
                        "redis-benchmark",
                        "-h",
                        ctx.redis().host(),
                        "-p",
                        Integer.toString(ctx.redis().port()),
                        "-t",
                        "lpush",
                        "-n",
                        Integer.toString(n),
                        "-d",
                        Integer.toString(Payloads.TARGET_BYTES),
                        "-c",
                        "1",
                        "-P",
                        Integer.toString(BATCH),
                        "-q",
                        "--csv"),
                Map.of(),
                ctx.work(),
                Duration.ofMinutes(2));
        // "LPUSH","123456.79",... (CSV header first in Redis 7)
        Matcher m = Pattern.compile("\"LPUSH\",\"([0-9.]+)\"").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("unexpected redis-benchmark output: " + out);
        }
        return Double.parseDouble(m.group(1));
    }

    // ---- 2. processing ----

    private void processing(Report.Section s) {
        int n = ctx.jobs();
        // Warm-up: a first runtime processes 20k jobs, so the measured one runs JIT-compiled code.
        flush();
        process(Math.min(n, 20_000), true);
        // Rounds alternate Crossfade and Sidekiq on the same Redis; the medians are compared.
        List<Double> ours = new ArrayList<>();
        List<Double> theirs = new ArrayList<>();
        List<Double> theirs8 = new ArrayList<>();
        for (int round = 0; round < ctx.rounds(); round++) {
            flush();
            ours.add(process(n, false));
            flush();
            theirs.add(sidekiq(List.of("sidekiq"), n));
            if (kit8 != null) {
                flush();
                theirs8.add(sidekiq(List.of(kit8.resolve("bin/sidekiq").toString()), n));
            }
        }
        double cf = Stats.median(ours);
        double sk = Stats.median(theirs);
        s.row(new Report.Row(
                "process " + n + " no-op jobs, " + THREADS + " threads",
                Report.rate(cf),
                "Ruby Sidekiq 6.4 `-c " + THREADS + "`",
                Report.rate(sk),
                Report.ratio(cf / sk),
                "≥ 10× (aim 20×)",
                cf / sk >= 10));
        if (kit8 != null) {
            double sk8 = Stats.median(theirs8);
            s.row(new Report.Row(
                    "process " + n + " no-op jobs, " + THREADS + " threads",
                    Report.rate(cf),
                    "Sidekiq 8.1.7 on JRuby `-c " + THREADS + "`",
                    Report.rate(sk8),
                    Report.ratio(cf / sk8),
                    "(report)",
                    null));
        }
        s.note("Processing: median of " + ctx.rounds() + " rounds; in each, " + n + " jobs enqueued first, then one "
                + "worker process started. Crossfade: "
                + "`RedisWorkerRuntime` with reliable fetch (LMOVE into a per-process in-progress list, acknowledged "
                + "with LREM), " + THREADS + " threads, default settings; time from the first job's start to the last "
                + "job's finish, after a 20,000-job warm-up in an earlier runtime. Sidekiq: `sidekiq -r noop.rb -c "
                + THREADS + " -q default` (OSS 6.4: basic BRPOP fetch, no reliable fetch, so it does less Redis work "
                + "per job), logger at WARN; time from the first job leaving the queue to the queue being empty "
                + "(polled every ms; favours Sidekiq by up to " + THREADS
                + " jobs still running), with `stat:processed` "
                + "checked to reach " + n + " afterwards.");
    }

    /** Enqueues n jobs, runs them with a fresh runtime, returns jobs/s from first start to last finish. */
    private double process(int n, boolean warmup) {
        enqueueAll(backend.queue(), 0, n);
        Probe probe = new Probe(0);
        double rate = probe.throughput(backend.workers(core(probe), Set.of(Job.DEFAULT_QUEUE), THREADS), n);
        if (!warmup) {
            System.out.printf(java.util.Locale.ROOT, "[bench] crossfade redis processing: %,.0f jobs/s%n", rate);
        }
        return rate;
    }

    private double sidekiq(List<String> command, int n) {
        return sidekiq(command, "ruby/noop.rb", Payloads.CLASS, n);
    }

    /**
     * Enqueues n jobs of {@code className}, drains them with a Sidekiq process that requires {@code script} (a
     * resource), and returns jobs/s from the first job leaving the queue to the queue being empty.
     */
    double sidekiq(List<String> command, String script, String className, int n) {
        enqueueAll(backend.queue(), className, 0, n);
        String queueKey = backend.key("queue:default");
        Path log = ctx.work().resolve("sidekiq.log");
        List<String> cmd = new ArrayList<>(command);
        cmd.addAll(List.of("-r", ctx.resource(script).toString(), "-c", Integer.toString(THREADS), "-q", "default"));
        Process p = Child.start(
                cmd, Map.of("REDIS_URL", ctx.redis().uri().toString(), "RAILS_ENV", "production"), ctx.work(), log);
        try {
            long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
            long t0 = 0;
            long t1;
            while (true) {
                long len = backend.redis().llen(queueKey);
                long now = System.nanoTime();
                if (t0 == 0 && len < n) {
                    t0 = now;
                }
                if (len == 0) {
                    t1 = now;
                    break;
                }
                if (now > deadline || !p.isAlive()) {
                    throw new IllegalStateException(
                            "Sidekiq did not drain the queue (" + len + " left): " + Child.read(log));
                }
                LockSupport.parkNanos(1_000_000);
            }
            // Sidekiq flushes its processed counter with the 5 s heartbeat.
            long deadline2 = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (processed() < n && System.nanoTime() < deadline2) {
                LockSupport.parkNanos(50_000_000);
            }
            if (processed() < n) {
                throw new IllegalStateException("Sidekiq's stat:processed is " + processed() + ", expected " + n);
            }
            double rate = n / ((t1 - t0) / 1e9);
            System.out.printf(java.util.Locale.ROOT, "[bench] sidekiq processing: %,.0f jobs/s%n", rate);
            return rate;
        } finally {
            Child.stop(p);
        }
    }

    private long processed() {
        String v = backend.redis().get(backend.key("stat:processed"));
        return v == null ? 0 : Long.parseLong(v);
    }

    // ---- 3. latency ----

    private void latency(Report.Section s) {
        flush();
        int rate = BenchContext.LATENCY_RATE;
        int warm = rate * 2;
        int count = warm + rate * ctx.latencySeconds();
        Probe probe = new Probe(count);
        RedisWorkerRuntime rt = backend.workers(core(probe), Set.of(Job.DEFAULT_QUEUE), THREADS);
        rt.start();
        long failures;
        try {
            failures = Paced.run(backend.queue(), ctx.payloads(), rate, count, 4);
            probe.awaitFinished(count - failures, Duration.ofSeconds(30));
        } finally {
            rt.stop(Duration.ofSeconds(10));
        }
        long[] l = probe.latencies(warm);
        long p50 = Stats.percentile(l, 50);
        long p99 = Stats.percentile(l, 99);
        s.row(new Report.Row(
                "enqueue-to-start p50 at " + rate + " jobs/s", Report.micros(p50), "goal", "—", "—", "—", null));
        s.row(new Report.Row(
                "enqueue-to-start p99 at " + rate + " jobs/s",
                Report.micros(p99),
                "goal",
                "5 ms",
                Report.ratio(p99 / 5e6),
                "p99 < 5 ms",
                p99 < 5_000_000 && failures == 0));
        s.note(String.format(
                java.util.Locale.ROOT,
                "Latency: single `enqueue` calls at a steady %d jobs/s for %d s "
                        + "(after a 2 s warm-up that is not counted; %d samples, %d enqueue failures) from 4 producer "
                        + "threads, to a running `RedisWorkerRuntime` (%d threads); from the time each job was due to "
                        + "be enqueued to its worker's start, in one JVM; p99.9 %s, max %s.",
                rate,
                ctx.latencySeconds(),
                l.length,
                failures,
                THREADS,
                Report.micros(Stats.percentile(l, 99.9)),
                Report.micros(Stats.percentile(l, 100))));
    }

    private static ExecutionCore core(Probe probe) {
        return ExecutionCore.builder(WorkerRegistry.builder()
                        .register(Payloads.CLASS, (args, c) -> {})
                        .build())
                .listener(probe)
                .build();
    }

    private void check(long n) {
        long len = backend.redis().llen(backend.key("queue:default"));
        if (len != n) {
            throw new IllegalStateException("expected " + n + " jobs in queue:default, found " + len);
        }
    }

    RedisBackend backend() {
        return backend;
    }

    void flush() {
        backend.redis().flushAll();
    }
}
