package dev.crossfade.cli.command;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.ConfigException;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code crossfade enqueue CLASS [ARGS...]}: one or more jobs through the router (or straight to a backend). */
@Command(
        name = "enqueue",
        mixinStandardHelpOptions = true,
        description = "Enqueue jobs. Each ARG is JSON when it parses as JSON (42, true, {\"a\":1}, \"text\"), "
                + "otherwise a string. Prints the jids.")
public final class EnqueueCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Mixin
    Options options;

    @Parameters(index = "0", paramLabel = "CLASS", description = "worker class name, e.g. HardWorker or crossfade.Echo")
    String className;

    @Parameters(index = "1..*", paramLabel = "ARG", description = "job args")
    List<String> args = new ArrayList<>();

    @Option(names = "--queue", defaultValue = "default", description = "queue (default: ${DEFAULT-VALUE})")
    String queue;

    @Option(
            names = "--backend",
            defaultValue = "routed",
            description = "routed (the flags decide), redis or kafka (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(names = "--key", description = "routing key (flag bucketing and Kafka record key)")
    String key;

    @Option(names = "--in", description = "delay, e.g. 30s or 5m")
    String in;

    @Option(names = "--count", defaultValue = "1", description = "how many copies (default: ${DEFAULT-VALUE})")
    int count;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        ArrayNode argNodes = JSON.createArrayNode();
        for (String a : args) {
            argNodes.add(parse(a));
        }
        Duration delay = in == null ? null : parseDelay(in);
        if (count < 1) {
            throw new ConfigException("--count", "must be at least 1, got " + count);
        }
        Set<Backend> backends = switch (backend) {
            case "routed" -> Set.of(Backend.REDIS, Backend.KAFKA);
            case "redis" -> Set.of(Backend.REDIS);
            case "kafka" -> Set.of(Backend.KAFKA);
            default -> throw new ConfigException("--backend", "must be routed, redis or kafka, got '" + backend + "'");
        };
        try (Node node = Node.start(options.load(), new SimpleMeterRegistry(), backends)) {
            JobQueue target = switch (backend) {
                case "routed" -> node.router();
                case "redis" -> node.redis().queue();
                default -> node.kafka().queue();
            };
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                jobs.add(Job.builder(className)
                        .argsNode(argNodes)
                        .queue(queue)
                        .routingKey(key)
                        .build());
            }
            if (delay != null) {
                Instant at = Instant.now().plus(delay);
                jobs.forEach(j -> target.enqueueAt(j, at));
            } else {
                target.enqueueAll(jobs);
            }
            jobs.forEach(j -> spec.commandLine().getOut().println(j.jid()));
            spec.commandLine().getOut().flush();
        }
        return 0;
    }

    private static JsonNode parse(String arg) {
        try {
            return JSON.readTree(arg);
        } catch (Exception e) {
            return TextNode.valueOf(arg);
        }
    }

    private static Duration parseDelay(String in) {
        try {
            return Duration.parse("PT" + in.toUpperCase());
        } catch (Exception e) {
            throw new ConfigException("--in", "must be a delay such as 30s, 5m or 1h, got '" + in + "'");
        }
    }
}
