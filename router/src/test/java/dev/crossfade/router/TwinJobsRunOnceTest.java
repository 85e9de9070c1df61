package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.RedisBackend;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs forced onto both backends, as when Kafka wrote a batch but its acknowledgement never reached the router: the
 * router falls back to Redis, so each jid sits on both. Three worker processes (each its own backends, guard and
 * runtime, sharing the queues) must run each jid's worker body once, a job longer than the guard's lease once, and a
 * job that fails on one copy through its retry, never through the other copy.
 */
@ExtendWith(CrossfadeServices.class)
class TwinJobsRunOnceTest extends WorkerStacks {
    private static final Duration LEASE = Duration.ofSeconds(2);

    @TempDir
    Path dir;

    private final Map<String, List<Integer>> runs = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> failuresLeft = new ConcurrentHashMap<>();

    /** Kafka that writes, then reports a timeout: the write landed, the router cannot know. */
    private static JobQueue landedButTimedOut(JobQueue kafka) {
        return new JobQueue() {
            @Override
            public String enqueue(Job job) {
                kafka.enqueue(job);
                throw new EnqueueTimeoutException(Backend.KAFKA, "ack lost", null);
            }

            @Override
            public String enqueueAt(Job job, Instant at) {
                kafka.enqueueAt(job, at);
                throw new EnqueueTimeoutException(Backend.KAFKA, "ack lost", null);
            }

            @Override
            public List<String> enqueueAll(List<Job> jobs) {
                kafka.enqueueAll(jobs);
                throw new EnqueueTimeoutException(Backend.KAFKA, "ack lost", null);
            }

            @Override
            public List<String> enqueueAll(List<Job> jobs, Duration limit) {
                kafka.enqueueAll(jobs, limit);
                throw new EnqueueTimeoutException(Backend.KAFKA, "ack lost", null);
            }

            @Override
            public void close() {}
        };
    }

    private WorkerRegistry registry() {
        return WorkerRegistry.builder()
                .register("Twin", (args, ctx) -> record(ctx.jid(), ctx.attempt()))
                .register("Slow", (args, ctx) -> {
                    record(ctx.jid(), ctx.attempt());
                    Thread.sleep(LEASE.toMillis() * 3);
                })
                .register("FailsOnce", (args, ctx) -> {
                    record(ctx.jid(), ctx.attempt());
                    if (failuresLeft
                                    .computeIfAbsent(ctx.jid(), k -> new AtomicInteger(1))
                                    .getAndDecrement()
                            > 0) {
                        throw new IllegalStateException("first run fails");
                    }
                })
                .build();
    }

    private void record(String jid, int attempt) {
        runs.computeIfAbsent(jid, k -> new CopyOnWriteArrayList<>()).add(attempt);
    }

    /** One worker process: its own clients, guard and runtime on both backends. */
    private void process(RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer, ns);
        ExecutionCore core = ExecutionCore.builder(registry())
                .guard(redis.runGuard(LEASE, Duration.ofMinutes(10)))
                .retryPolicy(RetryPolicy.fixed(Duration.ofSeconds(1)))
                .build();
        WorkerRuntime w = MigrationWorkerRuntime.of(
                redis.workers(core, Set.of("default"), 4), kafka.workers(core, Set.of("default"), 4));
        closeLater(w::close);
        w.start();
    }

    @Test
    void everyJidOnBothBackendsRunsOnceAcrossThreeProcesses(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) throws InterruptedException {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer, ns);
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(new SimpleMeterRegistry())
                .build()));
        RoutingJobQueue router = closeLater(new RoutingJobQueue(
                redis.queue(),
                landedButTimedOut(kafka.queue()),
                flags,
                RouterConfig.custom()
                        .meterRegistry(new SimpleMeterRegistry())
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(10)))
                        .build()));
        for (int p = 0; p < 3; p++) {
            process(redisServer, kafkaServer, ns);
        }

        // Let the three consumers settle into the group first: a rebalance redelivers uncommitted records, which is
        // Kafka's own at-least-once and not what this test is about.
        List<String> warm = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            warm.add(kafka.queue().enqueue(Job.of("Twin", "warm-" + i)));
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> runs.keySet().containsAll(warm));
        Thread.sleep(3_000);

        List<String> twins = new ArrayList<>();
        for (int batch = 0; batch < 10; batch++) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                jobs.add(Job.of("Twin", batch * 100 + i));
            }
            twins.addAll(router.enqueueAll(jobs));
        }
        String slow = router.enqueue(Job.of("Slow"));
        String failsOnce = router.enqueue(Job.of("FailsOnce"));

        await().atMost(Duration.ofSeconds(120))
                .until(() -> runs.keySet().containsAll(twins)
                        && runs.containsKey(slow)
                        && runs.getOrDefault(failsOnce, List.of()).size() >= 2);
        // Both copies of every job have had time to be fetched: the Redis copies wait out the router's fence.
        await().pollDelay(Duration.ofSeconds(8))
                .atMost(Duration.ofSeconds(60))
                .until(() -> redis.admin().queueSizes().values().stream().allMatch(n -> n == 0)
                        && redis.admin().scheduledSize() == 0
                        && redis.admin().retrySize() == 0);

        List<String> twice = twins.stream().filter(j -> runs.get(j).size() != 1).toList();
        assertEquals(List.of(), twice, "jids whose body ran more than once");
        assertEquals(List.of(1), runs.get(slow), "a job longer than the lease runs once");
        assertEquals(
                List.of(1, 2),
                runs.get(failsOnce),
                "a failed copy is retried by its policy, not run again by the other copy");
        assertTrue(redis.redis().keys(redis.key("crossfade:once:*")).size() >= twins.size(), "the twins were claimed");
    }
}
