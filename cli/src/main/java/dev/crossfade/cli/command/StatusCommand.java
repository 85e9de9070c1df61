package dev.crossfade.cli.command;

import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.cli.runtime.NodeStatus;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code crossfade status}: queues, failures, Kafka lag, the split and where flags come from. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show queue sizes, scheduled/retry/dead counts, the Kafka DLQ, Kafka lag per partition, the "
                + "current split and where the flags come from.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    Options options;

    @Spec
    CommandSpec spec;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() {
        try (Node node = Node.start(options.load(), new SimpleMeterRegistry())) {
            Map<String, Object> s = new NodeStatus(node).snapshot();
            PrintWriter out = spec.commandLine().getOut();
            Map<String, Object> split = (Map<String, Object>) s.get("split");
            out.printf("split:    %s%% Kafka, shadow %s%%, kill switch %s%n", split.get("kafkaPercent"),
                    split.get("shadowPercent"), Boolean.TRUE.equals(split.get("killSwitch")) ? "ON" : "off");
            out.printf("flags:    %s (%s)%n", split.get("source"),
                    Boolean.TRUE.equals(split.get("flagsHealthy")) ? "healthy" : "UNAVAILABLE: routing to Redis");
            Map<String, Object> queues = (Map<String, Object>) s.get("queues");
            out.printf("redis:    queues %s, scheduled %s%n", queues.get("redis"), queues.get("redisScheduled"));
            Map<String, Object> f = (Map<String, Object>) s.get("failures");
            out.printf("failures: redis retry %s, redis dead %s, kafka DLQ %s%n", f.get("redisRetry"),
                    f.get("redisDead"), f.get("kafkaDlq"));
            out.println("kafka lag:");
            for (Map<String, Object> p : (List<Map<String, Object>>) s.get("lag")) {
                out.printf("  %-40s p%-3s lag %6s  time lag %s ms%n", p.get("topic"), p.get("partition"),
                        p.get("lag"), p.get("timeLagMs"));
            }
            out.flush();
        }
        return 0;
    }
}
