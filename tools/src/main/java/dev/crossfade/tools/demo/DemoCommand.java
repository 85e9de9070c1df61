package dev.crossfade.tools.demo;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.Main;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.DevServices;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalKafkaCluster;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.PartitionLag;
import dev.crossfade.router.shadow.ShadowReport;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade demo}: the migration drill on local services with no configuration: 0% → 10% → 50% → 100% Kafka,
 * a shadow phase, the kill switch back to Redis, then back to Kafka, with live progress and a table per phase ending
 * in {@code lost: N} from a ledger of jids.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        description = {
            "Run the migration drill on a local Redis and a local Kafka broker (started for the demo and "
                    + "removed after): a producer enqueues through the router at a steady rate while the flags move "
                    + "0%% -> 10%% -> 50%% -> 100%% Kafka, shadow, kill switch back to Redis, back to Kafka.",
            "Ends with a table per phase and `lost: N` counted from a ledger of jids (exit code 1 if N > 0).",
            "Needs redis-server (apt-get install redis-server), or Docker for Testcontainers."
        })
public final class DemoCommand implements Callable<Integer> {
    @Option(
            names = "--phase-seconds",
            defaultValue = "7",
            description = "length of each phase (default: " + "${DEFAULT-VALUE})")
    int phaseSeconds;

    @Option(
            names = "--rate",
            defaultValue = "400",
            description = "jobs enqueued per second (default: ${DEFAULT-VALUE})")
    int rate;

    @Option(
            names = "--cluster",
            description = "run on a local three-broker Kafka cluster (replication 3, min.insync.replicas 2) instead "
                    + "of one broker")
    boolean cluster;

    @Spec
    CommandSpec spec;

    private record Step(String name, double kafka, double shadow, boolean kill) {}

    private static final List<Step> STEPS = List.of(
            new Step("redis only", 0, 0, false),
            new Step("10% kafka", 10, 0, false),
            new Step("50% kafka", 50, 0, false),
            new Step("100% kafka", 100, 0, false),
            new Step("shadow 50% to redis", 100, 50, false),
            new Step("kill switch: redis", 100, 0, true),
            new Step("back to kafka", 100, 0, false));

    @Override
    public Integer call() throws Exception {
        // Each phase's split is in the live line and the table; flag-change log lines would break the live line.
        Main.quiet("dev.crossfade.flags.RoutingFlags");
        PrintWriter out = spec.commandLine().getOut();
        if (!onPath("redis-server") && onPath("docker")) {
            System.setProperty(DevServices.TESTCONTAINERS, "true");
        }
        Path dir = Files.createTempDirectory("crossfade-demo");
        out.println(
                cluster
                        ? "starting a local Redis and a local three-broker Kafka cluster (about 30 s)..."
                        : "starting a local Redis and a local Kafka broker (about 15 s)...");
        out.flush();
        try (RedisService redisServer = DevServices.redis(LocalRedis.builder().appendOnly(true));
                KafkaService kafkaServer = cluster
                        ? LocalKafkaCluster.builder().partitions(3).build().start()
                        : DevServices.kafka(LocalKafka.builder().partitions(3))) {
            Map<String, String> env = new HashMap<>();
            env.put("CROSSFADE_REDIS_URL", redisServer.uri().toString());
            // Unique per run, so a demo pointed at a shared server never sees an earlier run's jobs.
            String run = Long.toHexString(System.nanoTime() & 0xffffff);
            env.put("CROSSFADE_REDIS_NAMESPACE", "demo-" + run + ":");
            env.put("CROSSFADE_KAFKA_BOOTSTRAP", kafkaServer.bootstrapServers());
            env.put("CROSSFADE_KAFKA_TOPIC_PREFIX", "demo-" + run);
            env.put("CROSSFADE_KAFKA_PARTITIONS", "3");
            env.put("CROSSFADE_FLAGS_FILE", dir.resolve("flags.json").toString());
            env.put("CROSSFADE_ROUTER_KAFKA_TIMEOUT", "1s");
            CrossfadeConfig config = CrossfadeConfig.load(null, env);
            SimpleMeterRegistry meters = new SimpleMeterRegistry();
            DemoLedger ledger = new DemoLedger();
            try (Node node = Node.start(config, meters)) {
                FlagsFile flags = node.flagsFile();
                flags.write(new FlagsFile.Settings(0, false, 0));
                WorkerRegistry.Builder workers = WorkerRegistry.builder()
                        .register(
                                "DemoJob",
                                (args, ctx) -> ctx.result(args.get(0).asLong() * 31
                                        + args.get(1).asText().length()),
                                WorkerOptions.custom().shadowSafe(true).build());
                WorkerRuntime runtime = node.workers(
                        DemoCommand.class.getClassLoader(),
                        workers,
                        ledger,
                        Set.of(Job.DEFAULT_QUEUE),
                        Set.of(Backend.REDIS, Backend.KAFKA),
                        4);
                List<DemoLedger.Phase> phases = new ArrayList<>();
                ledger.current.set(new DemoLedger.Phase("warm-up"));
                runtime.start();
                Job warmUp = Job.of("DemoJob", 0, "warm-up");
                node.kafka().queue().enqueue(warmUp);
                ledger.enqueued(List.of(warmUp));
                AtomicBoolean producing = new AtomicBoolean(true);
                Thread producer = new Thread(() -> produce(node, ledger, producing), "demo-producer");
                long started = System.nanoTime();
                for (int i = 0; i < STEPS.size(); i++) {
                    Step step = STEPS.get(i);
                    DemoLedger.Phase phase = new DemoLedger.Phase(step.name());
                    Counts before = Counts.read(meters, node);
                    flags.write(new FlagsFile.Settings(step.kafka(), step.kill(), step.shadow()));
                    awaitFlags(node, step);
                    ledger.current.set(phase);
                    phases.add(phase);
                    if (i == 0) {
                        producer.start();
                    }
                    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(phaseSeconds);
                    while (System.nanoTime() < end) {
                        phase.maxLag = Math.max(phase.maxLag, lag(node));
                        progress(out, i, step, ledger, phase, started);
                        Thread.sleep(500);
                    }
                    Counts after = Counts.read(meters, node);
                    phase.toRedis = after.redis - before.redis;
                    phase.toKafka = after.kafka - before.kafka;
                    phase.fallbacks = after.fallbacks - before.fallbacks;
                    phase.shadowMatched = after.matched - before.matched;
                    phase.shadowMismatched = after.mismatched - before.mismatched;
                }
                producing.set(false);
                producer.join();
                out.printf("%nall phases done; waiting for the last jobs to run...%n");
                out.flush();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!ledger.allAccountedFor() && System.nanoTime() < deadline) {
                    Thread.sleep(200);
                }
                runtime.stop(Duration.ofSeconds(10));
                ShadowReport report = node.comparator().report();
                table(out, phases, ledger, report);
                return ledger.lost() == 0 ? 0 : 1;
            }
        } finally {
            deleteQuietly(dir);
        }
    }

    /** Enqueues {@code rate} jobs a second in small batches through the router, sticky per account. */
    private void produce(Node node, DemoLedger ledger, AtomicBoolean producing) {
        int batch = Math.max(1, rate / 20);
        long n = 0;
        long next = System.nanoTime();
        while (producing.get()) {
            List<Job> jobs = new ArrayList<>(batch);
            for (int i = 0; i < batch; i++, n++) {
                jobs.add(Job.builder("DemoJob")
                        .args(n, "order-" + n)
                        .routingKey("account-" + (n % 500))
                        .build());
            }
            node.router().enqueueAll(jobs);
            ledger.enqueued(jobs);
            next += TimeUnit.MILLISECONDS.toNanos(50);
            long wait = next - System.nanoTime();
            if (wait > 0) {
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    private static void awaitFlags(Node node, Step step) throws InterruptedException {
        double want = step.kill() ? 0 : step.kafka() / 100.0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (Math.abs(node.flags().kafkaShare(200) - want) > 0.1 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private static long lag(Node node) {
        try {
            return node.kafka().admin().lag(Job.DEFAULT_QUEUE).stream()
                    .mapToLong(PartitionLag::offsetLag)
                    .sum();
        } catch (RuntimeException e) {
            return 0;
        }
    }

    private static void progress(
            PrintWriter out, int i, Step step, DemoLedger ledger, DemoLedger.Phase p, long started) {
        out.printf(
                "\r[%3ds] phase %d/%d %-22s enqueued %6d  ran: redis %6d  kafka %6d  lag %5d   ",
                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started),
                i + 1,
                STEPS.size(),
                step.name(),
                ledger.enqueued.size(),
                p.processedRedis.get(),
                p.processedKafka.get(),
                p.maxLag);
        out.flush();
    }

    private static void table(PrintWriter out, List<DemoLedger.Phase> phases, DemoLedger ledger, ShadowReport r) {
        out.println();
        out.printf(
                "%-24s %8s %8s %8s %9s %9s %9s %11s %8s %8s %7s%n",
                "phase",
                "enqueued",
                "->redis",
                "->kafka",
                "fallbacks",
                "ran redis",
                "ran kafka",
                "shadow ok/x",
                "p50 ms",
                "p99 ms",
                "max lag");
        for (DemoLedger.Phase p : phases) {
            long[] lat;
            synchronized (p.latencyMicros) {
                lat = p.latencyMicros.stream()
                        .mapToLong(Long::longValue)
                        .sorted()
                        .toArray();
            }
            out.printf(
                    "%-24s %8d %8d %8d %9d %9d %9d %11s %8.1f %8.1f %7d%n",
                    p.name,
                    p.enqueued.get(),
                    p.toRedis,
                    p.toKafka,
                    p.fallbacks,
                    p.processedRedis.get(),
                    p.processedKafka.get(),
                    p.shadowMatched + "/" + p.shadowMismatched,
                    pct(lat, 0.5),
                    pct(lat, 0.99),
                    p.maxLag);
        }
        out.printf(
                "%njobs: %d  ran: %d  duplicates: %d  dead: %d  shadow matched: %d  mismatched: %d%n",
                ledger.enqueued.size(),
                ledger.runs.size(),
                ledger.duplicates(),
                ledger.dead.size(),
                r.matched() + r.deliveredOnly(),
                r.mismatched());
        out.printf("lost: %d%n", ledger.lost());
        out.flush();
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[(int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] / 1000.0;
    }

    /** Cumulative meter readings, differenced per phase. */
    private record Counts(long redis, long kafka, long fallbacks, long matched, long mismatched) {
        static Counts read(SimpleMeterRegistry meters, Node node) {
            ShadowReport r = node.comparator().report();
            return new Counts(
                    count(meters, "crossfade.router.enqueued", "redis"),
                    count(meters, "crossfade.router.enqueued", "kafka"),
                    (long) Search.in(meters).name("crossfade.router.fallbacks").counters().stream()
                            .mapToDouble(c -> c.count())
                            .sum(),
                    r.matched() + r.deliveredOnly(),
                    r.mismatched());
        }

        private static long count(SimpleMeterRegistry meters, String name, String backend) {
            var c = Search.in(meters).name(name).tag("backend", backend).counter();
            return c == null ? 0 : (long) c.count();
        }
    }

    private static boolean onPath(String exe) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, exe)));
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A temporary directory; the OS cleans it eventually.
        }
    }
}
