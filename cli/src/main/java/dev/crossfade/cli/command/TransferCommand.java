package dev.crossfade.cli.command;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Transferred;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.ConfigException;
import dev.crossfade.kafka.KafkaAdmin;
import dev.crossfade.redis.RedisAdmin;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade transfer --from redis --to kafka --queue Q}: moves a queue's waiting and scheduled jobs from one
 * backend to the other, e.g. to drain Redis after the rollout reached 100%, or to roll back. The moving itself is a
 * backend admin operation ({@link RedisAdmin#transfer}, {@link KafkaAdmin#transfer}); this command only wires them.
 */
@Command(
        name = "transfer",
        mixinStandardHelpOptions = true,
        description = {
            "Move the pending, scheduled and retrying jobs of a queue from one backend to the other "
                    + "(dead jobs stay). No job is lost: each one is in the source until the target acknowledged it; a "
                    + "crash mid-way can only resend a batch (same jids, run once by the run-once guard).",
            "From Redis, workers may keep running. From Kafka, the queue's Kafka workers must be stopped first "
                    + "(group mode only): the command refuses while the consumer group has members."
        })
public final class TransferCommand implements Callable<Integer> {
    @Mixin
    Options options;

    @Option(names = "--from", required = true, paramLabel = "BACKEND", description = "redis or kafka")
    String from;

    @Option(names = "--to", required = true, paramLabel = "BACKEND", description = "kafka or redis (the other one)")
    String to;

    @Option(names = "--queue", required = true, paramLabel = "Q", description = "the queue to move")
    String queue;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (!(from.equals("redis") && to.equals("kafka")) && !(from.equals("kafka") && to.equals("redis"))) {
            throw new ConfigException(
                    "--from/--to", "must be redis and kafka, one each way, got --from " + from + " --to " + to);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Node node = Node.start(options.load(), new SimpleMeterRegistry(), Set.of(Backend.REDIS, Backend.KAFKA))) {
            if (from.equals("redis")) {
                Transferred t =
                        node.redis().admin().transfer(queue, node.kafka().queue());
                out.printf(
                        "moved %d jobs of queue %s from redis to kafka: %d pending, %d scheduled, %d retries%s%n",
                        t.total(),
                        queue,
                        t.pending(),
                        t.scheduled(),
                        t.retries(),
                        t.invalid() == 0 ? "" : "; " + t.invalid() + " payloads that are not jobs stay in Redis");
            } else {
                Transferred t =
                        node.kafka().admin().transfer(queue, node.redis().queue());
                out.printf(
                        "moved %d jobs of queue %s from kafka to redis: %d pending, %d scheduled, %d retries%s%n",
                        t.total(),
                        queue,
                        t.pending(),
                        t.scheduled(),
                        t.retries(),
                        t.invalid() == 0 ? "" : "; " + t.invalid() + " records that are not jobs went to the DLQ");
            }
            out.flush();
        }
        return 0;
    }
}
