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
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.PartitionLag;
import dev.crossfade.redis.RedisBackend;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Jobs forced onto both backends, as when the broker hangs with the jobs in hand: the router's Kafka calls time out and
 * it falls back to Redis, and the broker writes them once it runs again, so each jid sits on both. The real fault (the
 * broker SIGSTOPped under concurrent enqueues) twins the jobs whose requests were on the wire; a Kafka queue whose
 * acks are lost after the write twins a thousand more, deterministically. Three worker JVMs (each its own backends,
 * guard and runtime, sharing the queues) must run each jid's worker body once, a job longer than the guard's lease
 * once, and a job that fails on one copy through its retry, never through the other copy. The broker is this class's
 * own, since the test freezes it.
 */
@ExtendWith(CrossfadeServices.class)
class TwinJobsRunOnceTest extends WorkerStacks {
    private static final Duration LEASE = Duration.ofSeconds(2);
    private static LocalKafka broker;

    @TempDir
    Path dir;

    @BeforeAll
    static void startBroker() {
        broker = LocalKafka.builder().build().start();
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    private static List<String> runs(RedisBackend redis, String jid) {
        return redis.redis().lrange(redis.key("test:runs:" + jid), 0, -1);
    }

    private static long kafkaRecords(KafkaBackend kafka) {
        return kafka.admin().lag("default").stream()
                .mapToLong(PartitionLag::endOffset)
                .sum();
    }

    @Test
    void everyJidOnBothBackendsRunsOnceAcrossThreeWorkerJvms(RedisService redisServer, TestNamespace ns)
            throws Exception {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(broker.bootstrapServers(), ns);
        SimpleMeterRegistry routerMeters = new SimpleMeterRegistry();
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(new SimpleMeterRegistry())
                .build()));
        RoutingJobQueue router = closeLater(new RoutingJobQueue(
                redis.queue(),
                kafka.queue(),
                flags,
                RouterConfig.custom()
                        .meterRegistry(routerMeters)
                        .kafkaTimeout(Duration.ofMillis(500))
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(10)))
                        // The breaker stays closed through the hang, so every call tries Kafka before falling back.
                        .circuitBreaker(CircuitBreakerConfig.custom()
                                .slidingWindowSize(10_000)
                                .minimumNumberOfCalls(10_000)
                                .build())
                        .build()));
        for (int p = 0; p < 3; p++) {
            workerJvm(redisServer, broker.bootstrapServers(), ns, LEASE);
        }

        // Warm the router's Kafka paths (batch and single) and let the three consumers settle into the group: a
        // rebalance redelivers uncommitted records, which is Kafka's own at-least-once and not what this test is about.
        List<String> warm = new ArrayList<>(router.enqueueAll(List.of(Job.of("Twin", "warm"), Job.of("Twin", "warm"))));
        for (int i = 0; i < 30; i++) {
            warm.add(router.enqueue(Job.of("Twin", "warm-" + i)));
        }
        await().atMost(Duration.ofSeconds(60))
                .until(() -> warm.stream().allMatch(j -> !runs(redis, j).isEmpty()));
        Thread.sleep(3_000);
        long recordsBefore = kafkaRecords(kafka);

        // 1. The real fault: single enqueues from many threads while the broker is frozen. Each call's wait for its
        // ack times out and the router falls back to Redis; the requests already on the wire are written once the
        // broker runs again, so those jids sit on both backends.
        List<Future<String>> calls = new ArrayList<>();
        ExecutorService callers = Executors.newFixedThreadPool(50);
        broker.pause();
        try {
            for (int i = 0; i < 300; i++) {
                Job job = Job.of("Twin", "frozen-" + i);
                calls.add(callers.submit(() -> router.enqueue(job)));
            }
            for (Future<String> f : calls) {
                f.get(2, TimeUnit.MINUTES);
            }
        } finally {
            broker.resume();
            callers.shutdown();
        }
        List<String> twins = new ArrayList<>();
        for (Future<String> f : calls) {
            twins.add(f.get());
        }
        assertEquals(twins.size(), fallbacks(routerMeters), "every job enqueued during the hang fell back to Redis");
        long landed = awaitSteady(() -> kafkaRecords(kafka) - recordsBefore);
        assertTrue(landed > 0, "the frozen broker wrote the requests it had been sent: " + landed);

        // 2. Many more twins, deterministically: Kafka writes each job and the ack is lost (what a broker that froze
        // after writing does, for every job). Among them a job longer than the lease and one that fails once.
        RoutingJobQueue ackLost = closeLater(new RoutingJobQueue(
                redis.queue(),
                landedButTimedOut(kafka.queue()),
                flags,
                RouterConfig.custom()
                        .meterRegistry(routerMeters)
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(10)))
                        .circuitBreaker(CircuitBreakerConfig.custom()
                                .slidingWindowSize(10_000)
                                .minimumNumberOfCalls(10_000)
                                .build())
                        .build()));
        List<String> certain = new ArrayList<>();
        for (int i = 0; i < 1_000; i += 100) {
            List<Job> batch = new ArrayList<>();
            for (int j = i; j < i + 100; j++) {
                batch.add(Job.of("Twin", j));
            }
            certain.addAll(ackLost.enqueueAll(batch));
        }
        String slow = ackLost.enqueue(Job.of("Slow"));
        String failsOnce = ackLost.enqueue(Job.of("FailsOnce"));
        assertEquals(twins.size() + certain.size() + 2, fallbacks(routerMeters), "the lost acks fell back to Redis");
        twins.addAll(certain);

        await().atMost(Duration.ofSeconds(120))
                .until(() -> twins.stream().allMatch(j -> !runs(redis, j).isEmpty())
                        && !runs(redis, slow).isEmpty()
                        && runs(redis, failsOnce).size() >= 2);
        // Both copies of every job have been taken: the Redis copies wait out the router's fence, the Kafka copies
        // are committed.
        await().pollDelay(Duration.ofSeconds(5))
                .atMost(Duration.ofSeconds(60))
                .until(() -> redis.admin().queueSizes().values().stream().allMatch(n -> n == 0)
                        && redis.admin().scheduledSize() == 0
                        && redis.admin().retrySize() == 0
                        && kafka.admin().lag("default").stream().allMatch(l -> l.offsetLag() == 0));

        List<String> twice =
                twins.stream().filter(j -> runs(redis, j).size() != 1).toList();
        assertEquals(List.of(), twice, "jids whose body ran more than once");
        assertEquals(List.of("1"), runs(redis, slow), "a job longer than the lease runs once");
        assertEquals(
                List.of("1", "2"),
                runs(redis, failsOnce),
                "a failed copy is retried by its policy, not run again by the other copy");
        assertTrue(guardKeys(redis) >= certain.size() + 2, "the twins were claimed");
    }

    /**
     * Without a fault no job can sit on both backends, so none is claimed: at 0% and at 100% Kafka, 100,000 jobs run
     * without a guard round trip and leave no guard key (the twins above show the same guard does claim).
     */
    @Test
    void jobsOnOneBackendLeaveNoGuardKeys(RedisService redisServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(broker.bootstrapServers(), ns);
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(new SimpleMeterRegistry())
                .build()));
        SimpleMeterRegistry routerMeters = new SimpleMeterRegistry();
        RoutingJobQueue router = closeLater(new RoutingJobQueue(
                redis.queue(),
                kafka.queue(),
                flags,
                RouterConfig.custom()
                        .meterRegistry(routerMeters)
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(10)))
                        .build()));
        AtomicInteger ran = new AtomicInteger();
        for (int p = 0; p < 2; p++) {
            RedisBackend r = redis(redisServer, ns);
            KafkaBackend k = kafka(broker.bootstrapServers(), ns);
            ExecutionCore core = ExecutionCore.builder(WorkerRegistry.builder()
                            .register("Plain", (args, ctx) -> ran.incrementAndGet())
                            .build())
                    .guard(closeLater(r.runGuard(LEASE, Duration.ofMinutes(10))))
                    .build();
            WorkerRuntime w = MigrationWorkerRuntime.of(
                    r.workers(core, Set.of("default"), 4), k.workers(core, Set.of("default"), 4));
            closeLater(w::close);
            w.start();
        }
        int n = 100_000;
        for (int kafkaPercent : new int[] {0, 100}) {
            file.write(new FlagsFile.Settings(kafkaPercent, false, 0));
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> flags.decide(Job.of("Plain")).primary()
                            == (kafkaPercent == 0 ? Backend.REDIS : Backend.KAFKA));
            int before = ran.get();
            for (int i = 0; i < n; i += 1_000) {
                List<Job> jobs = new ArrayList<>(1_000);
                for (int j = 0; j < 1_000; j++) {
                    jobs.add(Job.of("Plain", i + j));
                }
                router.enqueueAll(jobs);
            }
            await().atMost(Duration.ofSeconds(120)).until(() -> ran.get() - before >= n);
            assertEquals(n, ran.get() - before, "each job ran once at " + kafkaPercent + "% Kafka");
            double fallbacks = routerMeters.find("crossfade.router.fallbacks").counters().stream()
                    .mapToDouble(c -> c.count())
                    .sum();
            assertEquals(0, fallbacks, "no fault: no job may have fallen back to Redis");
            assertEquals(0, guardKeys(redis), "guard keys left at " + kafkaPercent + "% Kafka");
        }
    }

    private static double fallbacks(SimpleMeterRegistry meters) {
        return meters.find("crossfade.router.fallbacks").counters().stream()
                .mapToDouble(c -> c.count())
                .sum();
    }

    /** Polls {@code value} until it has not changed for two seconds (at most a minute); returns the last value. */
    private static long awaitSteady(java.util.function.LongSupplier value) throws InterruptedException {
        long last = value.getAsLong();
        long steadySince = System.nanoTime();
        long giveUp = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() - steadySince < Duration.ofSeconds(2).toNanos() && System.nanoTime() < giveUp) {
            Thread.sleep(200);
            long now = value.getAsLong();
            if (now != last) {
                last = now;
                steadySince = System.nanoTime();
            }
        }
        return last;
    }

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

    /** Guard keys in this test's namespace, counted with SCAN as an operator would (KEYS blocks Redis). */
    private static long guardKeys(RedisBackend redis) {
        long n = 0;
        String cursor = ScanParams.SCAN_POINTER_START;
        ScanParams match = new ScanParams().match(redis.key("crossfade:once:*")).count(1_000);
        do {
            ScanResult<String> page = redis.redis().scan(cursor, match);
            n += page.getResult().size();
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        return n;
    }
}
