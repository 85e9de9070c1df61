package dev.crossfade.bench;

import dev.crossfade.api.JobQueue;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * The router figures: the cost of one routing decision (JMH), and enqueue through {@link RoutingJobQueue} against
 * enqueue on the chosen backend directly, at 100% Kafka and at 0% (Redis), with the same batch sizes, in alternating
 * rounds so both sides see the same machine load.
 */
final class RouterBench {
    private final BenchContext ctx;

    RouterBench(BenchContext ctx) {
        this.ctx = ctx;
    }

    void run(Report report) {
        Report.Section s = report.section("Router");
        decision(s);
        overhead(s);
    }

    // ---- 7a. routing decision ----

    private void decision(Report.Section s) {
        boolean quick = ctx.rounds() == 1 && ctx.jobs() <= 10_000;
        OptionsBuilder o = new OptionsBuilder();
        o.include(RoutingDecisionBenchmark.class.getName())
                .forks(1)
                // Replaces the harness JVM's own -Xms1g, which a smaller -Xmx alone contradicts.
                .jvmArgs("-Xms512m", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
                .shouldFailOnError(true);
        if (quick) {
            o.warmupIterations(1).measurementIterations(2).measurementTime(TimeValue.seconds(1));
        }
        Collection<RunResult> results;
        try {
            results = new Runner(o.build()).run();
        } catch (RunnerException e) {
            throw new IllegalStateException("JMH failed: " + e.getMessage(), e);
        }
        RunResult r = results.iterator().next();
        var stats = r.getPrimaryResult().getStatistics();
        double p50 = stats.getPercentile(50);
        double p99 = stats.getPercentile(99);
        s.row(new Report.Row(
                "routing decision, 25% rollout (JMH, median)",
                Report.micros(p50), "target", "1 µs", Report.ratio(p50 / 1000), "median < 1 µs", p50 < 1000));
        s.note(String.format(
                Locale.ROOT,
                "Decision: JMH 1.37 `RoutingDecisionBenchmark`, SampleTime, 1 fork, %s; "
                        + "`RoutingFlags.decide` over a file-data flags file (route flag: 25%% Kafka rollout, kill "
                        + "switch and shadow flags present) with the LaunchDarkly SDK 7.13 and a SimpleMeterRegistry; "
                        + "mean %s, p99 %s, %,d samples.",
                quick ? "1 warm-up + 2 × 1 s" : "3 warm-up + 5 measured × 1 s",
                Report.micros(stats.getMean()),
                Report.micros(p99),
                stats.getN()));
    }

    // ---- 7b. enqueue through the router ----

    private void overhead(Report.Section s) {
        Path dir;
        try {
            dir = Files.createTempDirectory(ctx.work(), "flags-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.createIfMissing();
        file.setKafkaPercent(100);
        try (RedisBackend redis = RedisBackend.create(
                        RedisBackendConfig.custom().url(ctx.redis().uri()).build());
                KafkaBackend kafka = KafkaBackend.create(KafkaBackendConfig.custom()
                        .bootstrapServers(ctx.kafka().bootstrapServers())
                        .topicPrefix("bench-router")
                        .build());
                RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                        .source(FlagSource.file(file.path()))
                        .meterRegistry(new SimpleMeterRegistry())
                        .build());
                RoutingJobQueue router = new RoutingJobQueue(
                        redis.queue(),
                        kafka.queue(),
                        flags,
                        RouterConfig.custom()
                                .meterRegistry(new SimpleMeterRegistry())
                                .build())) {
            awaitShare(flags, 1.0);
            compare(s, "100% Kafka", router, kafka.queue(), "`KafkaJobQueue`", 100, ctx.jobs());
            compare(s, "100% Kafka", router, kafka.queue(), "`KafkaJobQueue`", 1, Math.max(200, ctx.jobs() / 50));
            file.setKafkaPercent(0);
            awaitShare(flags, 0.0);
            compare(s, "0% (Redis)", router, redis.queue(), "`RedisJobQueue`", 100, ctx.jobs());
            compare(s, "0% (Redis)", router, redis.queue(), "`RedisJobQueue`", 1, Math.max(2_000, ctx.jobs() / 20));
            redis.redis().flushAll();
        }
        s.note("Router enqueue: " + (2 * ctx.rounds() + 1) + " rounds per row after a warm-up round; in each, the "
                + "router and the direct call take turns call by call (which goes first alternates), and each side's "
                + "time is its own calls' time; median jobs/s of each side. The router runs with its defaults "
                + "(resilience4j circuit breaker around Kafka calls, which get its 2 s time limit, Micrometer counters) and "
                + "real flags from a flags file written by `FlagsFile`: at 100% Kafka the route flag is on and "
                + "serves `kafka` to every job, the kill switch and shadow flag are off; at 0% every flag is off. A "
                + "flag that serves one variation to every job, on or off, is read once until it changes (the "
                + "decision row above measures a rollout, evaluated per job). The router calls "
                + "`KafkaJobQueue.enqueueAll(jobs, limit)` on the caller's thread; the direct side calls "
                + "`enqueueAll(jobs)`.");
    }

    private void compare(
            Report.Section s, String route, JobQueue router, JobQueue direct, String directName, int batch, int jobs) {
        int n = Math.max(batch, jobs / batch * batch);
        List<Double> viaRouter = new ArrayList<>();
        List<Double> viaDirect = new ArrayList<>();
        int rounds = 2 * ctx.rounds() + 1;
        for (int r = -1; r < rounds; r++) {
            long[] nanos = interleaved(router, direct, batch, n);
            if (r >= 0) { // round -1 warms up
                viaRouter.add(n / (nanos[0] / 1e9));
                viaDirect.add(n / (nanos[1] / 1e9));
            }
        }
        double a = Stats.median(viaRouter);
        double b = Stats.median(viaDirect);
        s.row(new Report.Row(
                String.format(Locale.ROOT, "enqueue via router, %s, batch %d (%,d jobs/round)", route, batch, n),
                Report.rate(a),
                directName + " directly",
                Report.rate(b),
                Report.percent(a / b),
                "≥ 90%",
                a / b >= 0.9));
    }

    /**
     * One round: {@code n} jobs through each side, call by call in turn (which side goes first alternates), so both
     * see the same moment of the machine; a drift in load that spans seconds would otherwise decide a row. Returns the
     * nanoseconds spent in each side's calls, building the jobs included.
     */
    private long[] interleaved(JobQueue router, JobQueue direct, int batch, int n) {
        long[] nanos = new long[2];
        for (int i = 0, call = 0; i < n; i += batch, call++) {
            for (int k = 0; k < 2; k++) {
                int side = (call + k) % 2;
                long t0 = System.nanoTime();
                send(side == 0 ? router : direct, batch, i);
                nanos[side] += System.nanoTime() - t0;
            }
        }
        return nanos;
    }

    private void send(JobQueue q, int batch, int from) {
        if (batch == 1) {
            q.enqueue(ctx.payloads().job(from));
        } else {
            q.enqueueAll(ctx.payloads().batch(from, batch));
        }
    }

    /** Waits until the SDK's file watcher has loaded the new percentage. */
    private static void awaitShare(RoutingFlags flags, double share) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (Math.abs(flags.kafkaShare(200) - share) > 1e-9) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("flags file change to " + share + " not picked up");
            }
            LockSupport.parkNanos(50_000_000);
        }
    }
}
