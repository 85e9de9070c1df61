package dev.crossfade.tools.drill;

import dev.crossfade.cli.Main;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade drill}: the fault drill (see {@link Drill}). Exit code 0 when the drill passed
 * ({@link DrillReport#passed()}: no job lost, no live process's job rerun), 1 otherwise.
 */
@Command(
        name = "drill",
        mixinStandardHelpOptions = true,
        description = {
            "Fault drill on a local Redis and Kafka broker started for it: worker processes (crossfade "
                    + "work) consume both backends while a producer enqueues through the router at a steady rate, the "
                    + "route flag moves every few hundred ms, shadow copies run for a third of the time, and faults hit "
                    + "on a schedule (worker SIGKILL, broker SIGSTOP and restart, Redis restart, a consumer joining and "
                    + "leaving, malformed payloads, poison jobs, a garbage flags file, a Redis outage longer than the "
                    + "heartbeat TTL).",
            "With --cluster: a three-node Kafka cluster (replication 3, min.insync.replicas 2) and Redis behind "
                    + "Sentinel (redis+sentinel:// URL, redis.wait-replicas 1) instead, and cluster faults: SIGKILL "
                    + "of the leader of the busiest partition, a Redis failover, a Sentinel restart, a Kafka node "
                    + "frozen, a follower restarted.",
            "Ends with a table: faults by kind, enqueue latency during faults, time to fall back, duplicates by "
                    + "cause, and `lost: N` (exit code 1 if N > 0, or if a Redis outage made a live process's "
                    + "job run twice). Needs redis-server on the PATH."
        })
public final class DrillCommand implements Callable<Integer> {
    @Option(names = "--jobs", description = "jobs to enqueue (default: 100000; 20000 with --cluster)")
    Integer jobs;

    @Option(
            names = "--faults",
            description = "faults to inject, spread over the run, cycling through the kinds (default: 24; 12 with "
                    + "--cluster)")
    Integer faults;

    @Option(names = "--workers", defaultValue = "3", description = "worker processes (default: ${DEFAULT-VALUE})")
    int workers;

    @Option(names = "--rate", description = "jobs enqueued per second (default: 400; 100 with --cluster)")
    Integer rate;

    @Option(
            names = "--kinds",
            split = ",",
            paramLabel = "KIND",
            description = "fault kinds in schedule order (default: those of the plain drill but halt-poison; with "
                    + "--cluster: leader-kill, redis-failover, node-pause, sentinel-restart, follower-restart, "
                    + "worker-sigkill): ${COMPLETION-CANDIDATES}",
            converter = KindConverter.class)
    List<FaultKind> kinds;

    @Option(
            names = "--cluster",
            description = "three Kafka nodes and Redis behind Sentinel (redis.wait-replicas 1), with cluster faults")
    boolean cluster;

    @Option(
            names = "--drain-timeout",
            defaultValue = "300",
            paramLabel = "SECONDS",
            description = "longest wait for the last jobs after the last enqueue (default: ${DEFAULT-VALUE})")
    int drainSeconds;

    @Option(
            names = "--seed",
            defaultValue = "42",
            description = "seed of the random choices (default: " + "${DEFAULT-VALUE})")
    long seed;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        // The drill moves the route flag hundreds of times; one INFO line per move would bury the progress lines.
        Main.quiet("dev.crossfade.flags.RoutingFlags");
        DrillSettings.Builder s = DrillSettings.custom()
                .cluster(cluster)
                .jobs(jobs != null ? jobs : cluster ? 20_000 : 100_000)
                .faults(faults != null ? faults : cluster ? 12 : 24)
                .workers(workers)
                .rate(rate != null ? rate : cluster ? 100 : 400)
                .drainTimeout(Duration.ofSeconds(drainSeconds))
                .seed(seed);
        if (kinds != null) {
            s.kinds(kinds);
        }
        DrillSettings settings;
        try {
            settings = s.build();
        } catch (IllegalArgumentException e) {
            // Exit code 2 with the usage error, as for any bad option.
            throw new ParameterException(spec.commandLine(), "--kinds: " + e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        DrillReport report = new Drill(settings, out).run();
        report.print(out);
        return report.passed() ? 0 : 1;
    }

    /** Accepts {@code worker-sigkill} as well as {@code WORKER_SIGKILL}. */
    static final class KindConverter implements picocli.CommandLine.ITypeConverter<FaultKind> {
        @Override
        public FaultKind convert(String value) {
            return FaultKind.parse(value);
        }
    }
}
