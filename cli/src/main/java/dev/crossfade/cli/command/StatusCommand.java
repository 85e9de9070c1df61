package dev.crossfade.cli.command;

import dev.crossfade.api.Backend;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.BackendMonitor;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.cli.runtime.NodeStatus;
import dev.crossfade.cli.runtime.UnknownClasses;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade status}: queues, failures, Kafka lag, the split and where flags come from. Checks each backend on
 * its own thread within a bounded time; prints what it reached, one line on stderr for each backend it could not
 * reach, and then exits 1.
 */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description = {
            "Show queue sizes, scheduled/retry/dead counts, the Kafka DLQ, Kafka lag per partition, the "
                    + "current split and where the flags come from.",
            "Prints what it can reach, and one line per backend it cannot (exit code 1), within a few seconds "
                    + "(health.timeout) even when a server hangs."
        })
public final class StatusCommand implements Callable<Integer> {
    /** A broker that answered gets this much longer than health.timeout to report lag, which takes a few requests. */
    private static final int DETAIL_FACTOR = 3;

    @Mixin
    Options options;

    @Option(
            names = "--backends",
            split = ",",
            paramLabel = "B",
            description = "redis, kafka or both (default: workers.backends)")
    List<String> backends;

    @Spec
    CommandSpec spec;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() {
        CrossfadeConfig config = options.load();
        Set<Backend> bs = new LinkedHashSet<>();
        for (String b : backends == null ? config.list("workers.backends") : backends) {
            if (!b.trim().equals("redis") && !b.trim().equals("kafka")) {
                throw new ConfigException(
                        backends == null ? "workers.backends" : "--backends",
                        "must be redis and/or kafka, got '" + b + "'");
            }
            bs.add(Backend.parse(b));
        }
        Node node = Node.start(config, new SimpleMeterRegistry(), bs);
        try {
            List<BackendMonitor.State> states =
                    node.checkOnce(config.duration("health.timeout").multipliedBy(DETAIL_FACTOR));
            Map<String, Object> s = new NodeStatus(node).snapshot(states);
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            Map<String, Object> split = (Map<String, Object>) s.get("split");
            out.printf(
                    "split:    %s%% Kafka, shadow %s%%, kill switch %s%s%n",
                    split.get("kafkaPercent"),
                    split.get("shadowPercent"),
                    Boolean.TRUE.equals(split.get("killSwitch")) ? "ON" : "off",
                    split.containsKey("migrationStage") ? ", migration stage " + split.get("migrationStage") : "");
            out.printf(
                    "flags:    %s (%s)%n",
                    split.get("source"),
                    Boolean.TRUE.equals(split.get("flagsHealthy")) ? "healthy" : "UNAVAILABLE: routing to Redis");
            Map<String, Object> ramp = (Map<String, Object>) s.get("ramp");
            if (ramp.containsKey("status") || ramp.containsKey("hold")) {
                out.printf(
                        "ramp:     %s, at %s%% of steps %s%s%n",
                        ramp.getOrDefault("status", "none"),
                        ramp.getOrDefault("percent", "0"),
                        ramp.getOrDefault("steps", "-"),
                        ramp.containsKey("hold") ? "; HELD ON REDIS: " + ramp.get("hold") : "");
                List<Map<String, Object>> log = (List<Map<String, Object>>) ramp.get("decisions");
                for (int i = Math.min(log.size(), 5) - 1; i >= 0; i--) {
                    Map<String, Object> d = log.get(i);
                    out.printf(
                            "  %s %-8s %s%s%n",
                            java.time.Instant.ofEpochMilli(((Number) d.getOrDefault("atMs", 0L)).longValue()),
                            d.get("kind"),
                            d.get("message"),
                            d.containsKey("figures") ? " [" + d.get("figures") + "]" : "");
                }
            }
            int unreachable = 0;
            for (BackendMonitor.State st : states) {
                if (!st.up()) {
                    unreachable++;
                    err.printf(
                            "crossfade status: %s unreachable at %s: %s%n",
                            st.backend().id(), st.address(), st.error());
                    continue;
                }
                if (st.backend() == Backend.REDIS) {
                    Map<String, Object> queues = (Map<String, Object>) s.get("queues");
                    Map<String, Object> f = (Map<String, Object>) s.get("failures");
                    out.printf(
                            "redis:    queues %s, scheduled %s, retry %s, dead %s%n",
                            queues.get("redis"), queues.get("redisScheduled"), f.get("redisRetry"), f.get("redisDead"));
                } else {
                    Map<String, Object> f = (Map<String, Object>) s.get("failures");
                    out.printf("kafka:    DLQ %s%n", f.get("kafkaDlq"));
                    out.println("kafka lag:");
                    for (Map<String, Object> p : (List<Map<String, Object>>) s.get("lag")) {
                        out.printf(
                                "  %-40s p%-3s lag %6s  time lag %s ms%n",
                                p.get("topic"), p.get("partition"), p.get("lag"), p.get("timeLagMs"));
                    }
                }
            }
            Map<String, Map<String, Long>> unknown =
                    (Map<String, Map<String, Long>>) s.getOrDefault("unknownClasses", Map.of());
            unknown.forEach((q, byClass) -> out.println("warning:  " + UnknownClasses.warning(q, byClass)));
            out.flush();
            err.flush();
            return unreachable == 0 ? 0 : 1;
        } finally {
            closeWithin(node, Duration.ofSeconds(2));
        }
    }

    /**
     * Closes the node, waiting at most {@code bound}: a client still waiting on a hung server may take longer to close,
     * and nothing is left to send.
     */
    private static void closeWithin(Node node, Duration bound) {
        Thread closer = new Thread(node::close, "crossfade-status-close");
        closer.setDaemon(true);
        closer.start();
        try {
            closer.join(bound.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
