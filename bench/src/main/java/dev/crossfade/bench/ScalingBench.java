package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.cli.runtime.Node;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How cost grows with worker threads: jobs/s of the shipped runtime at 1, 2, 4, 10 and 32 threads, for no-op jobs
 * (against the 1-thread rate) and for jobs that sleep 1 ms and 10 ms (against the ideal, threads ÷ duration), on
 * Redis and on Kafka's consumer group (ordering by key, so N threads run N jobs at once on 6 partitions).
 */
final class ScalingBench {
    static final int[] THREADS = {1, 2, 4, 10, 32};
    /** The threads of the 10 ms row that has a target, and the target itself (fraction of ideal). */
    static final int TARGET_THREADS = 32;

    static final double TARGET = 0.9;

    private record Workload(String className, String label, long sleepMillis) {}

    private static final List<Workload> SLEEPS = List.of(
            new Workload(ShippedNode.SLEEP_1MS, "1 ms jobs", 1),
            new Workload(ShippedNode.SLEEP_10MS, "10 ms jobs", 10));

    private final BenchContext ctx;
    private final boolean quick;
    /** Each backend's 10-thread no-op rate, the backlog figure's reference. */
    private final Map<Backend, Double> noop10 = new EnumMap<>(Backend.class);

    ScalingBench(BenchContext ctx, boolean quick) {
        this.ctx = ctx;
        this.quick = quick;
    }

    Map<Backend, Double> noop10() {
        return noop10;
    }

    void run(Report report) {
        Report.Section s = report.section("Threads scaling");
        RedisBench redis = new RedisBench(ctx);
        try {
            redis.flush();
            backend(s, Backend.REDIS);
            backend(s, Backend.KAFKA);
        } finally {
            redis.backend().close();
        }
        s.note(String.format(
                Locale.ROOT,
                "Runtime: what `crossfade work --backends B --concurrency N` builds (`Node.workers`, default settings: "
                        + "run-once guard, job metrics, shadow comparator, unknown-class watch), N the row's threads; "
                        + "Redis with reliable fetch, Kafka in group mode with ordering `key` (one chain of jobs per record key, "
                        + "the jid here, so N jobs run at once on the topic's %d partitions). One runtime (and, on Kafka, one fresh topic and group) per backend "
                        + "and thread count, after a %,d-job no-op warm-up at 10 threads: the no-op jobs are enqueued "
                        + "before it starts; then each sleep workload is enqueued to the running runtime once the "
                        + "previous one finished. Each cell's rate is its jobs over the time from its first job's start "
                        + "to its last job's finish.",
                KafkaBench.PARTITIONS,
                warmJobs()));
        s.note(String.format(
                Locale.ROOT,
                "Jobs per cell: no-op, %,d a thread on Redis (at most %,d), %,d on Kafka (at most %,d); sleeping jobs, enough for "
                        + "%.1f s at the ideal rate (N × %.1f s ÷ duration, a whole number a thread). Ideal: N ÷ the "
                        + "sleep (`Thread.sleep(1)` or `(10)` in the worker); no-op rows compare with the 1-thread "
                        + "rate. Target: 10 ms jobs at %d threads ≥ %.0f%% of ideal on each backend; other rows are "
                        + "reported. Figures taken on 2 shared cores while other builds may run: compare within a run.",
                noopPerThread(Backend.REDIS),
                noopCap(Backend.REDIS),
                noopPerThread(Backend.KAFKA),
                noopCap(Backend.KAFKA),
                cellSeconds(),
                cellSeconds(),
                TARGET_THREADS,
                100 * TARGET));
    }

    private int warmJobs() {
        return Math.min(ctx.jobs(), 20_000);
    }

    /** No-op jobs a thread: about a second's worth at one thread on each backend, so no cell is over in a blink. */
    private int noopPerThread(Backend b) {
        return Math.max(1_000, b == Backend.KAFKA ? ctx.jobs() : ctx.jobs() * 3 / 10);
    }

    private int noopCap(Backend b) {
        return b == Backend.KAFKA ? ctx.jobs() * 6 : ctx.jobs() * 2;
    }

    private double cellSeconds() {
        return quick ? 0.5 : 2.0;
    }

    private void backend(Report.Section s, Backend b) {
        String name = b == Backend.REDIS ? "Redis" : "Kafka";
        Phase phase = new Phase();
        // Warm-up: the measured runtimes run JIT-compiled code.
        try (Node node = node(b, "warm")) {
            enqueue(ShippedNode.queue(node, b), Payloads.CLASS, warmJobs());
            run(node, b, phase, 10, warmJobs(), List.of());
        }
        double one = Double.NaN;
        for (int t : THREADS) {
            int n = Math.min(noopPerThread(b) * t, noopCap(b));
            double[] rates;
            // A node (and so a Kafka topic and group) per thread count: a fresh group's only member is assigned every
            // partition at once, where a member taking over a group's partitions gets them over several heartbeats.
            try (Node node = node(b, "t" + t)) {
                enqueue(ShippedNode.queue(node, b), Payloads.CLASS, n);
                rates = run(node, b, phase, t, n, SLEEPS);
            }
            if (t == 1) {
                one = rates[0];
            }
            if (t == 10) {
                noop10.put(b, rates[0]);
            }
            s.row(new Report.Row(
                    name + ", no-op jobs, " + t + " thread" + (t == 1 ? "" : "s"),
                    Report.rate(rates[0]),
                    "1 thread",
                    Report.rate(one),
                    Report.ratio(rates[0] / one),
                    "(report)",
                    null));
            for (int w = 0; w < SLEEPS.size(); w++) {
                Workload wl = SLEEPS.get(w);
                double ideal = t * 1000.0 / wl.sleepMillis();
                double eff = rates[w + 1] / ideal;
                boolean targeted = wl.sleepMillis() == 10 && t == TARGET_THREADS;
                s.row(new Report.Row(
                        name + ", " + wl.label() + ", " + t + " thread" + (t == 1 ? "" : "s"),
                        Report.rate(rates[w + 1]),
                        "ideal (" + t + " ÷ " + wl.sleepMillis() + " ms)",
                        Report.rate(ideal),
                        Report.percent(eff),
                        targeted ? "≥ " + Math.round(100 * TARGET) + "%" : "(report)",
                        targeted ? eff >= TARGET : null));
            }
        }
    }

    private Node node(Backend b, String suffix) {
        return ShippedNode.start(
                b,
                ctx.redis().uri().toString(),
                b == Backend.KAFKA ? ctx.kafka().bootstrapServers() : "",
                "bench-scaling-" + suffix,
                ctx.work().resolve("flags.json").toString());
    }

    /**
     * Starts a runtime of {@code threads} on the {@code noop} no-op jobs already waiting, then runs each sleep
     * workload on it in turn; returns the jobs/s of each phase (no-op first).
     */
    private double[] run(Node node, Backend b, Phase phase, int threads, int noop, List<Workload> sleeps) {
        double[] rates = new double[1 + sleeps.size()];
        Probe probe = phase.next();
        WorkerRuntime rt = ShippedNode.workers(node, b, phase, threads);
        JobQueue queue = ShippedNode.queue(node, b);
        rt.start();
        try {
            rates[0] = await(probe, noop, b, threads, "no-op");
            for (int i = 0; i < sleeps.size(); i++) {
                Workload wl = sleeps.get(i);
                int perThread = (int) Math.max(1, Math.round(cellSeconds() * 1000 / wl.sleepMillis()));
                int n = perThread * threads;
                probe = phase.next();
                enqueue(queue, wl.className(), n);
                rates[i + 1] = await(probe, n, b, threads, wl.label());
            }
        } finally {
            rt.stop(Duration.ofSeconds(10));
        }
        return rates;
    }

    private static double await(Probe probe, int n, Backend b, int threads, String what) {
        if (!probe.awaitFinished(n, Duration.ofMinutes(2))) {
            throw new IllegalStateException(
                    b + " " + what + " at " + threads + " threads ran only " + probe.finished() + " of " + n);
        }
        if (probe.failed() > 0) {
            throw new IllegalStateException(probe.failed() + " " + what + " failed on " + b);
        }
        double rate = n / ((probe.lastFinish() - probe.firstStart()) / 1e9);
        System.out.printf(Locale.ROOT, "[bench] scaling %s %s, %d threads: %,.0f jobs/s%n", b, what, threads, rate);
        return rate;
    }

    private void enqueue(JobQueue queue, String className, int n) {
        for (int i = 0; i < n; i += RedisBench.BATCH) {
            queue.enqueueAll(ctx.payloads().batch(className, i, Math.min(RedisBench.BATCH, n - i)));
        }
    }

    /**
     * The listener a runtime is built with, handing each job to the probe of the current phase: a phase starts only
     * once every job of the previous one finished, so no job is counted in the wrong one.
     */
    private static final class Phase implements ExecutionListener {
        private volatile Probe current = new Probe(0);

        Probe next() {
            current = new Probe(0);
            return current;
        }

        @Override
        public void started(Job job, Backend backend, Instant startedAt) {
            current.started(job, backend, startedAt);
        }

        @Override
        public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
            current.finished(job, backend, outcome, startedAt, duration);
        }
    }
}
