package dev.crossfade.router;

import dev.crossfade.api.Backend;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.router.shadow.ShadowComparator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Set;
import redis.clients.jedis.UnifiedJedis;

/**
 * One worker process of the multi-process tests, as {@code crossfade work} builds it: its own clients, run-once guard,
 * shared shadow comparator and runtime on both backends. Every run is recorded in Redis, so the test sees all
 * processes: {@code test:runs:<jid>} lists the attempts that ran the worker body, {@code test:ran} counts bodies run.
 *
 * <p>Arguments: Redis URL, namespace, Kafka bootstrap servers, topic prefix, guard lease in ms. Prints {@code READY}
 * once started, and stops when its stdin closes.
 */
public final class WorkerJvmMain {
    /** The jid whose shadow comparison is made to differ on Kafka. */
    static final String SEEDED = "00000000000000000000beef";

    private WorkerJvmMain() {}

    public static void main(String[] args) throws Exception {
        String ns = args[1];
        Duration lease = Duration.ofMillis(Long.parseLong(args[4]));
        RedisBackend redis = RedisBackend.create(RedisBackendConfig.custom()
                .url(args[0])
                .namespace(ns)
                .pollInterval(Duration.ofMillis(100))
                .build());
        KafkaBackend kafka = KafkaBackend.create(KafkaBackendConfig.custom()
                .bootstrapServers(args[2])
                .topicPrefix(args[3])
                .partitions(6)
                .build());
        UnifiedJedis r = redis.redis();
        String runs = ns + "test:runs:";
        String ran = ns + "test:ran";
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("Twin", (a, ctx) -> record(r, runs, ran, ctx.jid(), ctx.attempt()))
                .register("Slow", (a, ctx) -> {
                    record(r, runs, ran, ctx.jid(), ctx.attempt());
                    Thread.sleep(lease.toMillis() * 3);
                })
                .register("FailsOnce", (a, ctx) -> {
                    record(r, runs, ran, ctx.jid(), ctx.attempt());
                    if (r.incr(ns + "test:failed:" + ctx.jid()) == 1) {
                        throw new IllegalStateException("first run fails");
                    }
                })
                .register(
                        "Price",
                        (a, ctx) -> {
                            long price = a.get(0).asLong() * 3;
                            // The seeded bug: on Kafka this one job computes a different price.
                            ctx.result(ctx.jid().equals(SEEDED) && ctx.backend() == Backend.KAFKA ? price + 1 : price);
                        },
                        WorkerOptions.custom().shadowSafe(true).build())
                .build();
        ExecutionCore core = ExecutionCore.builder(registry)
                .guard(redis.runGuard(lease, Duration.ofMinutes(10)))
                .retryPolicy(RetryPolicy.fixed(Duration.ofSeconds(1)))
                .listener(new ShadowComparator(
                        Duration.ofSeconds(60), new SimpleMeterRegistry(), redis.shadowStore(Duration.ofHours(1))))
                .build();
        WorkerRuntime w = MigrationWorkerRuntime.of(
                redis.workers(core, Set.of("default"), 4), kafka.workers(core, Set.of("default"), 4));
        w.start();
        System.out.println("READY");
        System.out.flush();
        while (System.in.read() >= 0) {
            // Runs until the test closes stdin (or kills the process).
        }
        w.stop(Duration.ofSeconds(10));
        kafka.close();
        redis.close();
    }

    private static void record(UnifiedJedis r, String runs, String ran, String jid, int attempt) {
        r.rpush(runs + jid, Integer.toString(attempt));
        r.incr(ran);
    }
}
