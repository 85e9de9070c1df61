package dev.crossfade.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The benchmark harness: starts its own redis-server and Kafka broker, measures every figure beside its reference in
 * the same run, and writes the tables into {@code docs/benchmarks.md} between the generated-section markers. Run it
 * with {@code ./bench/run}; options:
 *
 * <pre>
 *   --jobs N        jobs per throughput figure (default 100000; Kafka's figures use KafkaBench.SCALE × N)
 *   --rounds N      rounds of the enqueue and processing figures, median reported (default 3)
 *   --latency-s N   measured seconds of each latency figure (default 10)
 *   --only LIST     some of redis,kafka,router,scaling,backlog (default all); one Kafka figure alone:
 *                   kafka-enqueue, kafka-group, kafka-share or kafka-latency
 *   --quick         a smoke run: --jobs 10000 --rounds 1 --latency-s 3, report not written to docs
 *   --out FILE      the Markdown file to update (default docs/benchmarks.md)
 * </pre>
 */
public final class BenchMain {
    static final String BEGIN = "<!-- BEGIN GENERATED: ./bench/run rewrites from here to the END marker -->";
    static final String END = "<!-- END GENERATED -->";

    private BenchMain() {}

    public static void main(String[] args) throws IOException {
        int jobs = 100_000;
        int rounds = 3;
        int latencySeconds = 10;
        boolean quick = false;
        Set<String> only = new LinkedHashSet<>(List.of("redis", "kafka", "router", "scaling", "backlog"));
        Path out = Path.of("docs/benchmarks.md");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jobs" -> jobs = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--latency-s" -> latencySeconds = Integer.parseInt(args[++i]);
                case "--only" -> only = new LinkedHashSet<>(Arrays.asList(args[++i].split(",")));
                case "--out" -> out = Path.of(args[++i]);
                case "--quick" -> {
                    quick = true;
                    jobs = 10_000;
                    rounds = 1;
                    latencySeconds = 3;
                }
                default -> {
                    System.err.println("unknown option " + args[i] + " (see BenchMain's javadoc)");
                    System.exit(2);
                }
            }
        }
        String load = Machine.loadAverage();
        System.out.println("[bench] load average at start: " + load + " (other processes may be running)");
        Instant begin = Instant.now();
        Path work = Files.createTempDirectory("crossfade-bench-");
        BenchContext ctx = new BenchContext(jobs, rounds, latencySeconds, work);
        Report report = new Report();
        List<String> errors = new ArrayList<>();
        Map<String, String> machine;
        try {
            machine = Machine.describe(redisVersion(ctx), work);
            machine.put("load average at start (1/5/15 min)", load);
            machine.forEach((k, v) -> System.out.println("[bench] " + k + ": " + v));
            if (only.contains("redis")) {
                attempt("redis", errors, () -> new RedisBench(ctx).run(report));
            }
            if (only.contains("kafka")) {
                attempt("kafka", errors, () -> new KafkaBench(ctx).run(report));
            } else {
                for (String part : List.of("kafka-enqueue", "kafka-group", "kafka-share", "kafka-latency")) {
                    if (only.contains(part)) {
                        attempt(part, errors, () -> new KafkaBench(ctx).runPart(part, report));
                    }
                }
            }
            if (only.contains("router")) {
                attempt("router", errors, () -> new RouterBench(ctx).run(report));
            }
            boolean small = quick;
            ScalingBench scaling = new ScalingBench(ctx, small);
            if (only.contains("scaling")) {
                attempt("scaling", errors, () -> scaling.run(report));
            }
            if (only.contains("backlog")) {
                attempt("backlog", errors, () -> new BacklogBench(ctx, small, scaling.noop10()).run(report));
            }
        } finally {
            ctx.close();
        }
        machine.put("load average at end (1/5/15 min)", Machine.loadAverage());
        Duration took = Duration.between(begin, Instant.now()).truncatedTo(ChronoUnit.SECONDS);
        String md = render(report, machine, errors, String.join(" ", args), took, jobs, rounds, latencySeconds);
        Path copy = Path.of("bench/target/benchmarks-last-run.md");
        Files.createDirectories(copy.getParent());
        Files.writeString(copy, md, StandardCharsets.UTF_8);
        if (!quick) {
            update(out, md);
            System.out.println("[bench] wrote " + out.toAbsolutePath());
        }
        System.out.println("[bench] report: " + copy.toAbsolutePath() + " (run took " + took + ")");
        System.exit(errors.isEmpty() ? 0 : 1);
    }

    private static String redisVersion(BenchContext ctx) {
        try (redis.clients.jedis.RedisClient c =
                redis.clients.jedis.RedisClient.create(ctx.redis().uri())) {
            return c.info("server")
                    .lines()
                    .filter(l -> l.startsWith("redis_version:"))
                    .findFirst()
                    .map(l -> l.substring("redis_version:".length()).trim())
                    .orElse("unknown");
        }
    }

    private static void attempt(String area, List<String> errors, Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            StringWriter sw = new StringWriter();
            e.printStackTrace(new PrintWriter(sw));
            System.err.println("[bench] " + area + " failed: " + sw);
            errors.add(area + ": " + e);
        }
    }

    private static String render(
            Report report,
            Map<String, String> machine,
            List<String> errors,
            String args,
            Duration took,
            int jobs,
            int rounds,
            int latencySeconds) {
        StringBuilder md = new StringBuilder();
        md.append(BEGIN).append("\n\n");
        md.append("## Results of the last run\n\n");
        md.append(String.format(
                Locale.ROOT,
                "Run at %s with `./bench/run%s` (%,d jobs per throughput figure, "
                        + KafkaBench.SCALE + " times that for Kafka's, %d round(s) each, %d s per latency figure); it "
                        + "took %s.%n%n",
                Instant.now().truncatedTo(ChronoUnit.SECONDS),
                args.isEmpty() ? "" : " " + args,
                jobs,
                rounds,
                latencySeconds,
                took.toString().substring(2).toLowerCase(Locale.ROOT)));
        md.append("### Machine\n\n| | |\n| --- | --- |\n");
        machine.forEach(
                (k, v) -> md.append("| ").append(k).append(" | ").append(v).append(" |\n"));
        md.append("\nThe machine may have been shared with other processes during the run (see the load averages); "
                + "every ratio compares figures taken minutes apart in the same run, under the same conditions.\n\n");
        md.append(report.markdown());
        if (!errors.isEmpty()) {
            md.append("### Errors\n\n");
            errors.forEach(e -> md.append("- ").append(e.replace('\n', ' ')).append('\n'));
            md.append('\n');
        }
        md.append(END).append('\n');
        return md.toString();
    }

    /** Replaces the generated section of {@code file}, keeping the hand-written text around it. */
    private static void update(Path file, String generated) throws IOException {
        String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
        int b = text.indexOf(BEGIN);
        int e = text.indexOf(END);
        String updated;
        if (b >= 0 && e > b) {
            updated = text.substring(0, b)
                    + generated
                    + text.substring(e + END.length()).replaceFirst("^\n", "");
        } else {
            updated = text + (text.isEmpty() ? "" : "\n") + generated;
        }
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        Files.writeString(file, updated, StandardCharsets.UTF_8);
    }
}
