package dev.crossfade.cli.command;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.ConfigException;
import dev.crossfade.kafka.DeadLetter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code crossfade dead list|retry|delete}: the Redis dead set and the Kafka DLQ. */
@Command(
        name = "dead",
        mixinStandardHelpOptions = true,
        description = {
            "Inspect and act on dead jobs.",
            "  list             jobs in the Redis dead set and the Kafka DLQ, newest first",
            "  retry JID|--all  put a dead job back on its queue (Kafka: --all replays the queue's DLQ)",
            "  delete JID       remove a job from the Redis dead set (a Kafka DLQ is a log: it expires by retention)"
        })
public final class DeadCommand implements Callable<Integer> {
    @Mixin
    Options options;

    @Parameters(index = "0", paramLabel = "list|retry|delete", description = "what to do")
    String action;

    @Parameters(index = "1", arity = "0..1", paramLabel = "JID", description = "the dead job, for retry and delete")
    String jid;

    @Option(
            names = "--backend",
            defaultValue = "both",
            description = "redis, kafka or both (default: ${DEFAULT-VALUE})")
    String backend;

    @Option(
            names = "--queue",
            defaultValue = "default",
            description = "Kafka queue whose DLQ to read (default: " + "${DEFAULT-VALUE})")
    String queue;

    @Option(names = "--all", description = "with retry: every dead job")
    boolean all;

    @Option(names = "--limit", defaultValue = "50", description = "with list: at most this many per backend")
    int limit;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        boolean redis = backend.equals("redis") || backend.equals("both");
        boolean kafka = backend.equals("kafka") || backend.equals("both");
        if (!redis && !kafka) {
            throw new ConfigException("--backend", "must be redis, kafka or both, got '" + backend + "'");
        }
        validate(redis);
        PrintWriter out = spec.commandLine().getOut();
        if (limit < 1) {
            throw new ConfigException("--limit", "must be at least 1, got " + limit);
        }
        Set<Backend> backends = EnumSet.noneOf(Backend.class);
        if (redis || action.equals("delete")) {
            backends.add(Backend.REDIS);
        }
        if (kafka) {
            backends.add(Backend.KAFKA);
        }
        try (Node node = Node.start(options.load(), new SimpleMeterRegistry(), backends)) {
            switch (action) {
                case "list" -> {
                    if (redis) {
                        for (Job j : node.redis().admin().dead(limit)) {
                            out.printf(
                                    "redis  %s  %-24s %s: %s%n",
                                    j.jid(), j.className(), j.errorClass(), j.errorMessage());
                        }
                    }
                    if (kafka) {
                        for (DeadLetter d : node.kafka().admin().deadLetters(queue, limit)) {
                            out.printf(
                                    "kafka  %s  %-24s %s: %s  (%s-%d@%d)%n",
                                    d.job().jid(),
                                    d.job().className(),
                                    d.job().errorClass(),
                                    d.job().errorMessage(),
                                    d.topic(),
                                    d.partition(),
                                    d.offset());
                        }
                    }
                }
                case "retry" -> {
                    if (kafka && all) {
                        out.printf(
                                "kafka: replayed %d dead jobs of queue %s%n",
                                node.kafka().admin().replayDeadLetters(queue), queue);
                    } else if (kafka) {
                        out.println("kafka: a DLQ is replayed as a whole (--all --backend kafka --queue Q); " + jid
                                + " was looked for in Redis only");
                    }
                    if (redis) {
                        if (all) {
                            int n = 0;
                            for (Job j : node.redis().admin().dead(Integer.MAX_VALUE)) {
                                n += node.redis().admin().retryDead(j.jid()) ? 1 : 0;
                            }
                            out.printf("redis: retried %d dead jobs%n", n);
                        } else if (jid != null) {
                            out.println(
                                    node.redis().admin().retryDead(jid)
                                            ? "redis: " + jid + " is queued again"
                                            : "redis: no dead job " + jid);
                        }
                    }
                }
                case "delete" -> {
                    out.println(
                            node.redis().admin().deleteDead(jid)
                                    ? "redis: deleted " + jid
                                    : "redis: no dead job " + jid);
                }
                default -> throw new IllegalStateException(action);
            }
            out.flush();
        }
        return 0;
    }

    /** Refuses what cannot work before connecting to anything. */
    private void validate(boolean redis) {
        switch (action) {
            case "list" -> {}
            case "retry" -> {
                if (jid == null && !all) {
                    throw new ConfigException("dead retry", "name a JID or pass --all");
                }
                if (!redis && !all) {
                    throw new ConfigException(
                            "dead retry --backend kafka",
                            "a Kafka DLQ is replayed as a whole: " + "pass --all (and --queue Q)");
                }
            }
            case "delete" -> {
                if (jid == null) {
                    throw new ConfigException("dead delete", "name the JID to delete");
                }
                if (!redis) {
                    throw new ConfigException(
                            "dead delete --backend kafka",
                            "a Kafka DLQ is a log: its records " + "expire by the topic's retention");
                }
            }
            default -> throw new ConfigException("dead", "action must be list, retry or delete, got '" + action + "'");
        }
    }
}
