package dev.crossfade.bench;

import dev.crossfade.api.Job;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RouteDecision;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One routing decision: {@link RoutingFlags#decide(Job)} over a LaunchDarkly file-data flags file with the route flag
 * at a 25% Kafka rollout (what {@code crossfade rollout 25} writes), the real SDK evaluating kill switch, route and
 * shadow flags, and decision counters in a Micrometer registry. Jobs cycle through 4,096 distinct jids so the
 * percentage bucketing sees different keys.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RoutingDecisionBenchmark {
    private Path dir;
    private RoutingFlags flags;
    private Job[] jobs;
    private int next;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("crossfade-bench-flags-");
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.createIfMissing();
        file.setKafkaPercent(25);
        flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .startWait(Duration.ofSeconds(10))
                .meterRegistry(new SimpleMeterRegistry())
                .build());
        if (!flags.healthy()) {
            throw new IllegalStateException("flags file not loaded");
        }
        jobs = new Job[4096];
        for (int i = 0; i < jobs.length; i++) {
            jobs[i] = Job.builder("NoopJob").args(i).build();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        flags.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }

    /** Returns the decision so the JIT cannot drop the call. */
    @Benchmark
    public RouteDecision decide() {
        Job job = jobs[next++ & (jobs.length - 1)];
        return flags.decide(job);
    }
}
