package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.redis.RedisBackend;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Redis processing as users run it: the runtime {@code crossfade work --backends redis --concurrency 10} builds (its
 * {@link Node}, default settings, run-once guard, job metrics, shadow comparator and unknown-class watch), for the no-op
 * job and for {@code crossfade.Ledger} (one HINCRBY per job), each beside Sidekiq 6.4 {@code -c 10} doing the same;
 * then what the run-once guard costs at a sustained rate, in Redis commands per job and in keys and memory left.
 */
final class ShippedRedisBench {
    private static final String QUEUE = Job.DEFAULT_QUEUE;
    private static final String RUBY_LEDGER = "LedgerJob";
    /** Jobs per paced batch; 2,000 jobs/s is a batch every 50 ms. */
    private static final int PACED_BATCH = 100;

    private final BenchContext ctx;
    private final RedisBench redisBench;
    private final RedisBackend backend;

    ShippedRedisBench(BenchContext ctx, RedisBench redisBench) {
        this.ctx = ctx;
        this.redisBench = redisBench;
        this.backend = redisBench.backend();
    }

    void run(Report.Section s) {
        int n = ctx.jobs();
        redisBench.flush();
        process(Payloads.CLASS, Math.min(n, 20_000)); // warm-up of the shipped path
        List<Double> noop = new ArrayList<>();
        List<Double> noopSk = new ArrayList<>();
        List<Double> ledger = new ArrayList<>();
        List<Double> ledgerSk = new ArrayList<>();
        for (int round = 0; round < ctx.rounds(); round++) {
            noop.add(process(Payloads.CLASS, n));
            noopSk.add(sidekiq("ruby/noop.rb", Payloads.CLASS, n));
            ledger.add(process(BuiltInWorkers.LEDGER, n));
            ledgerSk.add(sidekiq("ruby/ledger.rb", RUBY_LEDGER, n));
        }
        row(s, "process " + n + " no-op jobs, `crossfade work` runtime", noop, noopSk, 20);
        row(
                s,
                "process " + n + " one-HINCRBY jobs (`crossfade.Ledger`), `crossfade work` runtime",
                ledger,
                ledgerSk,
                3);
        guardCost(s);
        s.note("Shipped runtime: what `crossfade work --backends redis --concurrency " + RedisBench.THREADS
                + "` builds (`Node.workers` with default settings: run-once guard, job metrics on a Prometheus "
                + "registry, shared shadow comparator, unknown-class watch), timed as the no-op row. The one-call job is "
                + "the built-in `crossfade.Ledger` (HINCRBY of its jid on `crossfade:ledger`); Sidekiq runs `ledger.rb`, "
                + "whose `LedgerJob` makes the same call, `-c " + RedisBench.THREADS + "`.");
    }

    private static void row(Report.Section s, String what, List<Double> ours, List<Double> theirs, double target) {
        double cf = Stats.median(ours);
        double sk = Stats.median(theirs);
        s.row(new Report.Row(
                what + ", " + RedisBench.THREADS + " threads",
                Report.rate(cf),
                "Ruby Sidekiq 6.4 `-c " + RedisBench.THREADS + "`",
                Report.rate(sk),
                Report.ratio(cf / sk),
                "≥ " + (int) target + "×",
                cf / sk >= target));
    }

    private double sidekiq(String script, String className, int n) {
        redisBench.flush();
        double rate = redisBench.sidekiq(List.of("sidekiq"), script, className, n);
        if (className.equals(RUBY_LEDGER)) {
            checkLedger(n);
        }
        return rate;
    }

    /** Enqueues n jobs of {@code className}, drains them with a fresh shipped runtime, returns jobs/s. */
    private double process(String className, int n) {
        redisBench.flush();
        redisBench.enqueueAll(backend.queue(), className, 0, n);
        Probe probe = new Probe(0);
        double rate;
        try (Node node = node()) {
            rate = probe.throughput(shipped(node, probe), n);
        }
        if (className.equals(BuiltInWorkers.LEDGER)) {
            checkLedger(n);
        }
        System.out.printf(Locale.ROOT, "[bench] crossfade work runtime, %s: %,.0f jobs/s%n", className, rate);
        return rate;
    }

    private void checkLedger(int n) {
        long entries = backend.redis().hlen(backend.key(BuiltInWorkers.ledgerKey("")));
        if (entries != n) {
            throw new IllegalStateException("the ledger holds " + entries + " jids, expected " + n);
        }
    }

    private Node node() {
        CrossfadeConfig config = CrossfadeConfig.of(
                Map.of(
                        "redis.url", ctx.redis().uri().toString(),
                        "flags.file", ctx.work().resolve("flags.json").toString()),
                Map.of(),
                "",
                "bench");
        return Node.start(config, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), Set.of(Backend.REDIS));
    }

    private static WorkerRuntime shipped(Node node, ExecutionListener probe) {
        WorkerRegistry.Builder noop = WorkerRegistry.builder().register(Payloads.CLASS, (args, c) -> {});
        return node.workers(
                ShippedRedisBench.class.getClassLoader(),
                noop,
                probe,
                Set.of(QUEUE),
                Set.of(Backend.REDIS),
                RedisBench.THREADS);
    }

    // ---- the guard's cost at a sustained rate ----

    /**
     * What a sustained run cost Redis: commands per job as Redis counts them (including those a script calls), the
     * round trips per job that can be the guard's (scripts and stream reads), keys and memory left.
     */
    private record Sustained(double commandsPerJob, double guardCallsPerJob, long guardKeys, long memoryDelta) {}

    private void guardCost(Report.Section s) {
        int rate = BenchContext.LATENCY_RATE;
        int count = rate * ctx.latencySeconds();
        Sustained bare = sustained(count, false, false);
        Sustained shipped = sustained(count, true, false);
        Sustained marked = sustained(count, true, true);
        double extra = shipped.guardCallsPerJob() - bare.guardCallsPerJob();
        s.row(new Report.Row(
                "run-once guard: Redis round trips per job at " + rate + " jobs/s, no job on both backends",
                String.format(Locale.ROOT, "%+.3f", extra),
                "runtime without the guard",
                String.format(Locale.ROOT, "%.2f commands/job", bare.commandsPerJob()),
                "—",
                "no round trip per job (< 0.05)",
                extra < 0.05));
        s.row(new Report.Row(
                "run-once guard: keys left after " + count + " jobs at " + rate + " jobs/s, none on both backends",
                shipped.guardKeys() + " keys",
                "goal",
                "0 keys",
                "—",
                "0 keys",
                shipped.guardKeys() == 0));
        double perKey = marked.guardKeys() == 0 ? 0 : (double) marked.memoryDelta() / marked.guardKeys();
        Duration memory = CrossfadeConfig.defaults().duration("workers.run-once-memory");
        double projected = perKey * rate * memory.toSeconds();
        s.row(new Report.Row(
                "run-once guard, every job on both backends (worst case) at " + rate + " jobs/s",
                String.format(
                        Locale.ROOT,
                        "%+.2f round trips/job, %d keys, %.0f B/key",
                        marked.guardCallsPerJob() - bare.guardCallsPerJob(),
                        marked.guardKeys(),
                        perKey),
                "kept for `workers.run-once-memory` (" + memory.toMinutes() + " min)",
                String.format(Locale.ROOT, "%.2f GB", projected / 1e9),
                "—",
                "(report)",
                null));
        s.note(String.format(
                Locale.ROOT,
                "Guard cost: %,d no-op jobs enqueued in batches of %d at a steady %d jobs/s to a running runtime "
                        + "(%d threads), each count taken from Redis's `INFO` before the first batch and after the "
                        + "last job. Round trips that can be the guard's: calls of `EVALSHA`, `EVAL` and `XRANGE` "
                        + "(`INFO commandstats`), less the runtime without the guard's (the no-op row's "
                        + "`RedisWorkerRuntime`). Worst case: the shipped runtime with every jid marked half a second "
                        + "before its enqueue, as the router marks a job after a Kafka write of unknown fate and then "
                        + "fences its Redis copy, so each job is claimed and finished in Redis (the router's `XADD` of "
                        + "the marks is not counted); its key memory (`used_memory` per guard key, marks included) is "
                        + "projected at that rate over the remembered hour. Guard keys counted with SCAN on "
                        + "`crossfade:once:*`.",
                count,
                PACED_BATCH,
                rate,
                RedisBench.THREADS));
    }

    /** Runs {@code count} no-op jobs enqueued at a steady rate through one runtime; counts what it cost Redis. */
    private Sustained sustained(int count, boolean shipped, boolean markAll) {
        redisBench.flush();
        Probe probe = new Probe(0);
        Node node = shipped ? node() : null;
        WorkerRuntime rt = shipped
                ? shipped(node, probe)
                : backend.workers(
                        ExecutionCore.builder(WorkerRegistry.builder()
                                        .register(Payloads.CLASS, (args, c) -> {})
                                        .build())
                                .listener(probe)
                                .build(),
                        Set.of(QUEUE),
                        RedisBench.THREADS);
        TwinMarks marks = backend.twinMarks(Duration.ofHours(1));
        List<List<Job>> batches = new ArrayList<>();
        for (int sent = 0; sent < count; sent += PACED_BATCH) {
            batches.add(ctx.payloads().batch(sent, Math.min(PACED_BATCH, count - sent)));
        }
        // Marks run this many batches ahead of the enqueues: half a second, twice the guards' reading interval.
        int lead = (int) (BenchContext.LATENCY_RATE / 2 / PACED_BATCH);
        rt.start();
        try {
            // Let the runtime settle (heartbeat, first poll) before counting.
            LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
            long commands0 = info("stats", "total_commands_processed");
            long calls0 = guardCalls();
            long memory0 = info("memory", "used_memory");
            long period = Duration.ofSeconds(1).toNanos() * PACED_BATCH / BenchContext.LATENCY_RATE;
            if (markAll) {
                for (int i = 0; i < Math.min(lead, batches.size()); i++) {
                    marks.mark(batches.get(i).stream().map(Job::jid).toList());
                }
                LockSupport.parkNanos(period * lead);
            }
            long next = System.nanoTime();
            for (int i = 0; i < batches.size(); i++) {
                LockSupport.parkNanos(next - System.nanoTime());
                next += period;
                if (markAll && i + lead < batches.size()) {
                    marks.mark(batches.get(i + lead).stream().map(Job::jid).toList());
                }
                backend.queue().enqueueAll(batches.get(i));
            }
            if (!probe.awaitFinished(count, Duration.ofSeconds(60))) {
                throw new IllegalStateException("ran only " + probe.finished() + " of " + count);
            }
            LockSupport.parkNanos(Duration.ofMillis(500).toNanos());
            long commands1 = info("stats", "total_commands_processed");
            long calls1 = guardCalls();
            long memory1 = info("memory", "used_memory");
            long keys = guardKeys();
            if (markAll && keys != count) {
                throw new IllegalStateException("expected a guard key per marked job, found " + keys + " of " + count);
            }
            return new Sustained(
                    (double) (commands1 - commands0) / count,
                    (double) (calls1 - calls0) / count,
                    keys,
                    memory1 - memory0);
        } finally {
            rt.stop(Duration.ofSeconds(10));
            if (node != null) {
                node.close();
            }
        }
    }

    /** Calls so far of the commands a guard's round trip can be: scripts and stream reads. */
    private long guardCalls() {
        long n = 0;
        for (String line : backend.redis().info("commandstats").split("\r?\n")) {
            for (String c : List.of("evalsha", "eval", "evalsha_ro", "eval_ro", "xrange")) {
                if (line.startsWith("cmdstat_" + c + ":calls=")) {
                    String rest = line.substring(("cmdstat_" + c + ":calls=").length());
                    n += Long.parseLong(rest.substring(0, rest.indexOf(',')));
                }
            }
        }
        return n;
    }

    private long guardKeys() {
        long n = 0;
        String cursor = ScanParams.SCAN_POINTER_START;
        ScanParams match =
                new ScanParams().match(backend.key("crossfade:once:*")).count(1_000);
        do {
            ScanResult<String> page = backend.redis().scan(cursor, match);
            n += page.getResult().size();
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        return n;
    }

    private long info(String section, String field) {
        for (String line : backend.redis().info(section).split("\r?\n")) {
            if (line.startsWith(field + ":")) {
                return Long.parseLong(line.substring(field.length() + 1).trim());
            }
        }
        throw new IllegalStateException("INFO " + section + " has no " + field);
    }
}
