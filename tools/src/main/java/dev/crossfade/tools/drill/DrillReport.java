package dev.crossfade.tools.drill;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * The outcome of a drill: every enqueued jid accounted for, faults by kind with the router's reaction times, enqueue
 * latency inside and outside fault windows, and duplicates by cause. {@link #lost()} is the number that must be 0.
 */
public final class DrillReport {
    private final int jobs;
    private final int faultsPlanned;
    private final int workers;
    private final int rate;
    private final long elapsedSeconds;
    private final Map<FaultKind, Integer> injected;
    private final Map<FaultKind, List<FaultEvent>> events;
    private final Map<FaultKind, double[]> p99ByKind;
    private final double calmP50;
    private final double calmP99;
    private final double faultP50;
    private final double faultP99;
    private final int flagChanges;
    private final int rejectedCalls;
    private final int workerProcesses;
    private final int diedOnTheirOwn;
    private final Builder b;
    private final long enqueued;
    private final int expectedDead;
    private final boolean cluster;

    private DrillReport(Builder b) {
        Drill d = b.drill;
        this.b = b;
        this.jobs = d.settings().jobs();
        this.faultsPlanned = d.settings().faults();
        this.workers = d.settings().workers();
        this.rate = d.settings().rate();
        this.elapsedSeconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - d.t0);
        this.injected = Collections.unmodifiableMap(d.injectedByKind());
        Map<FaultKind, List<FaultEvent>> ev = new EnumMap<>(FaultKind.class);
        d.faults.forEach(f -> ev.computeIfAbsent(f.kind, k -> new ArrayList<>()).add(f));
        this.events = ev;
        Map<FaultKind, double[]> p = new EnumMap<>(FaultKind.class);
        d.byKind.forEach((k, l) -> p.put(k, new double[] {l.count(), l.percentileMillis(0.99)}));
        this.p99ByKind = p;
        this.calmP50 = d.calm.percentileMillis(0.5);
        this.calmP99 = d.calm.percentileMillis(0.99);
        this.faultP50 = d.duringFaults.percentileMillis(0.5);
        this.faultP99 = d.duringFaults.percentileMillis(0.99);
        this.flagChanges = d.flagChanges.get();
        this.rejectedCalls = d.rejectedCalls.get();
        this.workerProcesses = d.workers().size();
        this.diedOnTheirOwn = d.diedOnTheirOwn.get();
        this.enqueued = Arrays.stream(d.okJids).filter(Objects::nonNull).count();
        this.expectedDead = d.expectedDead.size();
        this.cluster = d.settings().cluster();
    }

    /** Jids the producer got an OK for that are nowhere: not run, not dead, not queued. Must be 0. */
    public int lost() {
        return b.lost.size();
    }

    /** Extra runs of jobs whose process was judged dead while it was alive (a peer recovered them). Must be 0. */
    public int liveReruns() {
        return b.liveReruns;
    }

    /** Slow jobs put in flight before Redis outages, and how many of them ran exactly once. */
    public int[] outageJobsRunOnce() {
        return new int[] {b.drill.outageJobs.size(), b.outageJobsOnce};
    }

    /** In-progress jobs left by workers killed during Redis outages, and how many of them ran or died since. */
    public int[] orphansEnded() {
        return new int[] {b.drill.orphans.size(), b.orphansEnded};
    }

    /**
     * Whether the drill kept its promises: nothing lost, no live process's job rerun by a peer, and every job in flight
     * across a Redis outage or left by a worker killed during one accounted for.
     */
    public boolean passed() {
        return b.lost.isEmpty()
                && b.liveReruns == 0
                && b.orphansEnded == b.drill.orphans.size()
                && b.outageJobsRun == b.drill.outageJobs.size();
    }

    /** The lost jids (at most the first 20 in the table). */
    public List<String> lostJids() {
        return List.copyOf(b.lost);
    }

    /** Faults that actually happened, by kind. */
    public Map<FaultKind, Integer> injected() {
        return injected;
    }

    /** Jobs the producer enqueued that ran at least once. */
    public int processed() {
        return b.processed;
    }

    /** Jobs that ran more than once. */
    public int duplicateJobs() {
        return b.duplicateJobs;
    }

    /** Extra runs by cause. */
    public Map<String, Integer> duplicateCauses() {
        return Collections.unmodifiableMap(b.duplicateCauses);
    }

    /** OK'd jids still waiting somewhere after the drain wait, with where. */
    public Map<String, String> stillQueued() {
        return Collections.unmodifiableMap(b.stillQueued);
    }

    /** Poison, unknown-class and JVM-halting jobs found dead, with the reason. */
    public Map<String, String> expectedDeadFound() {
        return Collections.unmodifiableMap(b.expectedDeadFound);
    }

    /** Malformed payloads written but not found in the dead set or DLQ. */
    public List<String> malformedMissing() {
        return List.copyOf(b.malformedMissing);
    }

    /** Malformed payloads found dead, with where and why. */
    public Map<String, String> malformedFound() {
        return Collections.unmodifiableMap(b.malformedFound);
    }

    /** Ordinary jobs that died although they should have run. */
    public Map<String, String> unexpectedDead() {
        return Collections.unmodifiableMap(b.unexpectedDead);
    }

    /** Prints the table. */
    public void print(PrintWriter out) {
        out.println();
        out.printf(
                "crossfade drill%s: %,d jobs at %d/s, %d worker processes (%d started in all), %d faults planned, "
                        + "%d s%n%n",
                cluster
                        ? " --cluster (3 Kafka nodes, replication 3, min.insync.replicas 2; Redis with Sentinel, "
                                + "wait-replicas 1)"
                        : "",
                jobs,
                rate,
                workers,
                workerProcesses,
                faultsPlanned,
                elapsedSeconds);
        out.printf(
                "%-26s %8s %10s %14s %16s %16s%n",
                "fault", "injected", "enqueues", "enqueue p99 ms", "first fallback ms", "breaker OPEN ms");
        for (FaultKind k : FaultKind.values()) {
            List<FaultEvent> ev = events.getOrDefault(k, List.of());
            if (ev.isEmpty()) {
                continue;
            }
            double[] lat = p99ByKind.get(k);
            out.printf(
                    "%-26s %8d %10.0f %14.1f %16s %16s%n",
                    k.label(), injected.getOrDefault(k, 0), lat[0], lat[1], range(ev, true), range(ev, false));
        }
        out.printf("%n%-44s %,d%n", "jobs enqueued (OK from the router)", enqueued);
        out.printf("%-44s %,d%n", "  processed", b.processed);
        out.printf("%-44s %,d jobs, %,d extra runs%n", "  of which ran more than once", b.duplicateJobs, b.extraRuns);
        out.printf("%-44s %,d%n", "  dead although ordinary jobs", b.unexpectedDead.size());
        out.printf("%-44s %,d%n", "  still queued after the drain wait", b.stillQueued.size());
        out.printf(
                "%-44s %,d / %,d (dead with a reason / enqueued)%n",
                "poison, unknown-class, halting jobs", b.expectedDeadFound.size(), expectedDead);
        out.printf(
                "%-44s %,d / %,d%n",
                "malformed payloads dead with a reason",
                b.malformedFound.size(),
                b.malformedFound.size() + b.malformedMissing.size());
        out.printf("%-44s Redis dead set %,d, Kafka DLQ %,d%n", "dead entries", b.deadRedis, b.deadKafka);
        out.printf("%-44s %,d%n", "runs of jids never acknowledged to producer", b.runsWithoutOk);
        out.printf("%-44s %,d%n", "rejected enqueue calls (retried)", rejectedCalls);
        out.printf("%-44s %,d%n", "route flag changes", flagChanges);
        out.printf("%-44s %,d%n", "workers that died on their own (replaced)", diedOnTheirOwn);
        if (!b.drill.outageJobs.isEmpty() || injected.containsKey(FaultKind.REDIS_OUTAGE)) {
            out.printf(
                    "%n%s (heartbeat TTL %d s, %d injected)%n",
                    FaultKind.REDIS_OUTAGE.label(),
                    Drill.HEARTBEAT_TTL.toSeconds(),
                    injected.getOrDefault(FaultKind.REDIS_OUTAGE, 0));
            out.printf(
                    "%-44s %,d / %,d (ran exactly once / in flight)%n",
                    "  slow jobs in flight across it", b.outageJobsOnce, b.drill.outageJobs.size());
            out.printf(
                    "%-44s %,d / %,d (ran or dead / left)%n",
                    "  in-progress jobs of workers killed in it", b.orphansEnded, b.drill.orphans.size());
            out.printf("%-44s %,d (must be 0)%n", "  live processes' jobs rerun by a peer", b.liveReruns);
            out.printf("%-44s %,d%n", "  all extra runs around it", b.outageExtraRuns);
        }
        out.printf("%n%-44s p50 %.1f ms, p99 %.1f ms%n", "enqueue latency, no fault open", calmP50, calmP99);
        out.printf("%-44s p50 %.1f ms, p99 %.1f ms%n", "enqueue latency, fault window open", faultP50, faultP99);
        out.printf("%n%-44s%n", "duplicates by cause (extra runs)");
        if (b.duplicateCauses.isEmpty()) {
            out.println("  none");
        }
        new TreeMap<>(b.duplicateCauses).forEach((c, n) -> out.printf("  %6d  %s%n", n, c));
        out.printf("%-44s %,d%n", "copies skipped by the run-once guard:", b.doubleWritesCaught + b.redeliveriesCaught);
        out.printf("  %6d  fallback double-writes caught (copy on the other backend ran)%n", b.doubleWritesCaught);
        out.printf("  %6d  redeliveries on the same backend caught%n", b.redeliveriesCaught);
        out.printf("  %6d  runs while the guard was unavailable (Redis down: at-least-once)%n", b.guardUnavailable);
        if (!b.unexpectedDead.isEmpty()) {
            out.println("\nordinary jobs that died (first 10):");
            b.unexpectedDead.entrySet().stream()
                    .limit(10)
                    .forEach(e -> out.printf("  %s %s%n", e.getKey(), e.getValue()));
        }
        if (!b.stillQueued.isEmpty()) {
            out.println("\nstill queued (first 10):");
            b.stillQueued.entrySet().stream().limit(10).forEach(e -> out.printf("  %s %s%n", e.getKey(), e.getValue()));
        }
        if (!b.malformedMissing.isEmpty()) {
            out.println("\nmalformed payloads not found dead: " + b.malformedMissing);
        }
        if (!b.unexpectedRuns.isEmpty()) {
            out.println("\npoison jobs that ran: " + b.unexpectedRuns);
        }
        out.printf(
                "%nlost: %d%s%n",
                b.lost.size(), b.lost.isEmpty() ? "" : "  " + b.lost.subList(0, Math.min(20, b.lost.size())));
        if (!b.lost.isEmpty()) {
            List<String> order = Arrays.asList(b.drill.okJids);
            out.printf(
                    "  lost jobs were enqueued at (s into the run): %s%n",
                    b.lost.stream()
                            .limit(20)
                            .map(j -> String.format(
                                    "%.1f",
                                    order.indexOf(j)
                                            / (double) b.drill.settings().rate()))
                            .toList());
        }
        if (!b.lostTrail.isEmpty()) {
            out.printf(
                    "  trail of lost jobs: %d, e.g. %s%n",
                    b.lostTrail.size(), b.lostTrail.entrySet().stream().limit(5).toList());
        }
        out.flush();
    }

    private static String range(List<FaultEvent> ev, boolean fallback) {
        long min = Long.MAX_VALUE;
        long max = -1;
        int n = 0;
        for (FaultEvent f : ev) {
            long v = fallback ? f.msToFallback() : f.msToOpen();
            if (v >= 0) {
                min = Math.min(min, v);
                max = Math.max(max, v);
                n++;
            }
        }
        if (n == 0) {
            return "-";
        }
        return (min == max ? Long.toString(min) : min + ".." + max)
                + (n < ev.size() ? " (" + n + "/" + ev.size() + ")" : "");
    }

    /** Collects the accounting; package-private, filled by {@link Accounting}. */
    static final class Builder {
        final Drill drill;
        int processed;
        int duplicateJobs;
        int extraRuns;
        int deadRedis;
        int deadKafka;
        int runsWithoutOk;
        int doubleWritesCaught;
        int redeliveriesCaught;
        int guardUnavailable;
        int outageJobsRun;
        int outageJobsOnce;
        int orphansEnded;
        int liveReruns;
        int outageExtraRuns;
        final Map<String, Integer> duplicateCauses = new LinkedHashMap<>();
        final Map<String, String> unexpectedDead = new LinkedHashMap<>();
        final Map<String, String> expectedDeadFound = new LinkedHashMap<>();
        final List<String> unexpectedRuns = new ArrayList<>();
        final Map<String, String> malformedFound = new LinkedHashMap<>();
        final List<String> malformedMissing = new ArrayList<>();
        final Map<String, String> stillQueued = new LinkedHashMap<>();
        final List<String> lost = new ArrayList<>();
        /** Where a lost jid was last seen, when it was (a Kafka record already committed past). */
        final Map<String, String> lostTrail = new LinkedHashMap<>();

        Builder(Drill drill) {
            this.drill = drill;
        }

        DrillReport build() {
            return new DrillReport(this);
        }
    }
}
