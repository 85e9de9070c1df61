package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.router.shadow.ShadowComparator;
import dev.crossfade.router.shadow.ShadowReport;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The router's acceptance scenarios on real Redis, a real Kafka broker and the real LaunchDarkly SDK. */
@ExtendWith(CrossfadeServices.class)
class RouterIntegrationTest {
    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<AutoCloseable> closing = new ArrayList<>();
    private final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(0, c);
        return c;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    private RedisBackend redis(RedisService server, TestNamespace ns) {
        return closeLater(RedisBackend.create(RedisBackendConfig.custom()
                .url(server.uri().toString())
                .namespace(ns.value() + ":")
                .pollInterval(Duration.ofMillis(100))
                .build()));
    }

    private KafkaBackend kafka(String bootstrap, TestNamespace ns, Duration enqueueTimeout) {
        return closeLater(KafkaBackend.create(KafkaBackendConfig.custom()
                .bootstrapServers(bootstrap)
                .topicPrefix(ns.value())
                .partitions(2)
                .enqueueTimeout(enqueueTimeout)
                .build()));
    }

    private RoutingFlags flags(FlagsFile file) {
        return closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .build()));
    }

    private RoutingJobQueue router(RedisBackend redis, KafkaBackend kafka, RoutingFlags flags, RouterConfig config) {
        return closeLater(new RoutingJobQueue(redis.queue(), kafka.queue(), flags, config));
    }

    private WorkerRuntime workers(RedisBackend redis, KafkaBackend kafka, ExecutionCore core) {
        WorkerRuntime w = MigrationWorkerRuntime.of(
                redis.workers(core, Set.of("default"), 4), kafka.workers(core, Set.of("default"), 4));
        closeLater(w::close);
        w.start();
        return w;
    }

    private double timeoutFallbacks() {
        Counter c = meters.find("crossfade.router.fallbacks")
                .tag("cause", "timeout")
                .counter();
        return c == null ? 0 : c.count();
    }

    private static List<Job> counts(String name, int n) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(Job.of("Count", name + "-" + i));
        }
        return jobs;
    }

    private WorkerRegistry countingRegistry() {
        return WorkerRegistry.builder()
                .register(
                        "Count",
                        (args, ctx) -> runs.computeIfAbsent(ctx.jid(), k -> new AtomicInteger())
                                .incrementAndGet())
                .build();
    }

    @Test
    void aQuarterRolloutSendsAQuarterOfRealEnqueuesToKafkaStickyAndMonotonic(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(25, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer.bootstrapServers(), ns, Duration.ofSeconds(30));
        RoutingJobQueue router = router(
                redis,
                kafka,
                flags(file),
                RouterConfig.custom()
                        .meterRegistry(meters)
                        .kafkaTimeout(Duration.ofSeconds(10))
                        .build());

        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 20_000; i++) {
            jobs.add(Job.builder("Count").args(i).routingKey("account-" + i).build());
        }
        for (int i = 0; i < jobs.size(); i += 1000) {
            router.enqueueAll(jobs.subList(i, i + 1000));
        }
        double toKafka = meters.get("crossfade.router.enqueued")
                .tag("backend", "kafka")
                .counter()
                .count();
        double toRedis = meters.get("crossfade.router.enqueued")
                .tag("backend", "redis")
                .counter()
                .count();
        assertEquals(20_000, toKafka + toRedis);
        assertTrue(Math.abs(toKafka / 20_000 - 0.25) <= 0.02, "kafka share " + toKafka / 20_000);
        assertEquals((long) toRedis, redis.admin().queueSizes().get("default"), "what Redis holds");
        long onKafka = kafka.admin().lag("default").stream()
                .mapToLong(p -> p.endOffset())
                .sum();
        assertEquals((long) toKafka, onKafka, "what Kafka holds");
    }

    @Test
    void killSwitchMovesEveryEnqueueToRedisWithinASecond(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer.bootstrapServers(), ns, Duration.ofSeconds(30));
        RoutingJobQueue router = router(
                redis,
                kafka,
                flags(file),
                RouterConfig.custom().meterRegistry(meters).build());
        router.enqueue(Job.of("Count", 0));
        assertEquals(
                1.0,
                meters.get("crossfade.router.enqueued")
                        .tag("backend", "kafka")
                        .counter()
                        .count());

        file.setKillSwitch(true);
        long redisBefore = redis.admin().queueSizes().getOrDefault("default", 0L);
        await().atMost(Duration.ofSeconds(1))
                .pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    router.enqueue(Job.of("Count", "probe"));
                    return redis.admin().queueSizes().getOrDefault("default", 0L) > redisBefore;
                });
        double kafkaAfterFlip = meters.get("crossfade.router.enqueued")
                .tag("backend", "kafka")
                .counter()
                .count();
        for (int i = 0; i < 200; i++) {
            router.enqueue(Job.builder("Count").routingKey("k" + i).build());
        }
        assertEquals(
                kafkaAfterFlip,
                meters.get("crossfade.router.enqueued")
                        .tag("backend", "kafka")
                        .counter()
                        .count(),
                "nothing more goes to Kafka");
    }

    /**
     * Callers whose own time limit is spent before the Kafka write, or too short for Kafka to acknowledge, get what
     * their limit allows; Kafka is not blamed for it: the breaker stays closed and the next enqueue goes to Kafka.
     */
    @Test
    void callersSpentTimeLimitsDoNotOpenTheBreaker(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer.bootstrapServers(), ns, Duration.ofSeconds(30));
        RoutingJobQueue router = router(
                redis,
                kafka,
                flags(file),
                RouterConfig.custom()
                        .meterRegistry(meters)
                        .kafkaTimeout(Duration.ofSeconds(5))
                        .circuitBreaker(CircuitBreakerConfig.custom()
                                .slidingWindowSize(10)
                                .minimumNumberOfCalls(5)
                                .failureRateThreshold(50)
                                .waitDurationInOpenState(Duration.ofMinutes(1))
                                .build())
                        .build());
        router.enqueue(Job.of("Count", "warm"));
        for (int i = 0; i < 5; i++) {
            // Half of a microsecond is Kafka's share: spent by the time the write begins.
            assertThrows(
                    EnqueueException.class, () -> router.enqueue(Job.of("Count", "spent"), Duration.ofNanos(1_000)));
            try {
                router.enqueue(Job.of("Count", "short"), Duration.ofMillis(2));
            } catch (EnqueueException e) {
                // The caller's limit ran out on Redis too: the caller's to handle, not Kafka's failure.
            }
        }
        assertEquals(CircuitBreaker.State.CLOSED, router.kafkaBreakerState());
        double kafkaBefore = meters.get("crossfade.router.enqueued")
                .tag("backend", "kafka")
                .counter()
                .count();
        router.enqueue(Job.of("Count", "after"));
        assertEquals(
                kafkaBefore + 1,
                meters.get("crossfade.router.enqueued")
                        .tag("backend", "kafka")
                        .counter()
                        .count(),
                "the next enqueue goes to Kafka");
    }

    @Test
    void kafkaHungThenStoppedMidRunLosesNothingAndTrafficReturnsWhenTheBreakerCloses(
            RedisService redisServer, TestNamespace ns) throws Exception {
        LocalKafka broker = closeLater(LocalKafka.builder().build().start());
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(broker.bootstrapServers(), ns, Duration.ofSeconds(60));
        RoutingJobQueue router = router(
                redis,
                kafka,
                flags(file),
                RouterConfig.custom()
                        .meterRegistry(meters)
                        .kafkaTimeout(Duration.ofMillis(500))
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(5)))
                        .circuitBreaker(CircuitBreakerConfig.custom()
                                .slidingWindowSize(10)
                                .minimumNumberOfCalls(5)
                                .failureRateThreshold(50)
                                .waitDurationInOpenState(Duration.ofSeconds(1))
                                .permittedNumberOfCallsInHalfOpenState(2)
                                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                                .build())
                        .build());
        ExecutionCore core = ExecutionCore.builder(countingRegistry())
                .guard(redis.runGuard(Duration.ofSeconds(5), Duration.ofMinutes(5)))
                .build();
        workers(redis, kafka, core);

        Set<String> jids = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            jids.add(router.enqueue(Job.of("Count", i)));
        }
        // Kafka calls run on the caller's thread with the router's limit: a hung broker must not hold them past it (the
        // backend's own enqueue timeout is 60 s). Its jobs go to Redis, and may land on Kafka too once it thaws.
        for (int call = 0; call < 3; call++) {
            jids.addAll(router.enqueueAll(counts("warm-" + call, 20)));
        }
        // The first calls may have timed out too, while the topic was created.
        double timeouts = timeoutFallbacks();
        broker.pause();
        try {
            long t0 = System.nanoTime();
            jids.addAll(router.enqueueAll(counts("hung", 20)));
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertTrue(took.compareTo(Duration.ofMillis(1500)) < 0, "a batch during the hang took " + took);
            assertEquals(timeouts + 20, timeoutFallbacks());
        } finally {
            broker.resume();
        }
        broker.stop();
        for (int i = 0; i < 200; i++) {
            jids.add(router.enqueue(Job.of("Count", "during-outage-" + i)));
        }
        assertTrue(meters.get("crossfade.router.fallbacks").counters().stream()
                        .mapToDouble(c -> c.count())
                        .sum()
                > 0);
        assertEquals(CircuitBreaker.State.OPEN, router.kafkaBreakerState());

        broker.restart();
        await().atMost(Duration.ofSeconds(60)).until(() -> {
            jids.add(router.enqueue(Job.of("Count", "after")));
            return router.kafkaBreakerState() == CircuitBreaker.State.CLOSED;
        });
        double kafkaBefore = meters.get("crossfade.router.enqueued")
                .tag("backend", "kafka")
                .counter()
                .count();
        jids.add(router.enqueue(Job.of("Count", "back on kafka")));
        assertEquals(
                kafkaBefore + 1,
                meters.get("crossfade.router.enqueued")
                        .tag("backend", "kafka")
                        .counter()
                        .count(),
                "traffic returns to Kafka");

        await().atMost(Duration.ofSeconds(90)).until(() -> runs.keySet().containsAll(jids));
        assertTrue(
                runs.values().stream().allMatch(c -> c.get() == 1),
                "a job that may have landed on both backends still runs once");
    }

    @Test
    void shadowRunMatchesADeterministicWorkerAndCatchesASeededMismatch(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 100));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer.bootstrapServers(), ns, Duration.ofSeconds(30));
        RoutingJobQueue router = router(
                redis,
                kafka,
                flags(file),
                RouterConfig.custom().meterRegistry(meters).build());
        ShadowComparator comparator = new ShadowComparator(Duration.ofSeconds(30), meters);
        String seeded = "00000000000000000000beef";
        WorkerRegistry registry = WorkerRegistry.builder()
                .register(
                        "Price",
                        (args, ctx) -> {
                            long price = args.get(0).asLong() * 3;
                            // The seeded bug: on Kafka this one job computes a different price.
                            ctx.result(ctx.jid().equals(seeded) && ctx.backend() == Backend.KAFKA ? price + 1 : price);
                        },
                        WorkerOptions.custom().shadowSafe(true).build())
                .build();
        workers(
                redis,
                kafka,
                ExecutionCore.builder(registry).listener(comparator).build());

        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            jobs.add(Job.builder("Price").args(i).build());
        }
        jobs.add(Job.builder("Price").jid(seeded).args(7).build());
        for (int i = 0; i < jobs.size(); i += 500) {
            router.enqueueAll(jobs.subList(i, Math.min(jobs.size(), i + 500)));
        }

        await().atMost(Duration.ofSeconds(60)).until(() -> {
            ShadowReport r = comparator.report();
            return r.matched() + r.mismatched() == jobs.size();
        });
        ShadowReport report = comparator.report();
        assertEquals(1, report.mismatched(), report.toJson());
        assertEquals(seeded, report.mismatchExamples().get(0).jid());
        assertEquals(jobs.size() - 1, report.matched());
        assertEquals(0, report.duplicates());
        // A consumer of the jobs topic that is not Crossfade (another team's service, a connector) would run a shadow
        // copy for real: the copies wait in a topic of their own.
        List<String> plain = readAll(kafkaServer.bootstrapServers(), ns.value() + ".default");
        assertEquals(
                List.of(),
                plain.stream().filter(v -> v.contains("\"shadow\":true")).toList());
        assertEquals(0, plain.size(), "records in the jobs topic (the route sends nothing to Kafka)");
        List<String> shadows = readAll(kafkaServer.bootstrapServers(), ns.value() + ".default.shadow");
        assertEquals(jobs.size(), shadows.size(), "shadow copies in " + ns.value() + ".default.shadow");
    }

    /** Every record value of a topic, read as a plain consumer with no group would. */
    private static List<String> readAll(String bootstrap, String topic) {
        List<String> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName(),
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName()))) {
            List<TopicPartition> tps = c.partitionsFor(topic, Duration.ofSeconds(10)).stream()
                    .map(p -> new TopicPartition(topic, p.partition()))
                    .toList();
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                c.poll(Duration.ofMillis(100)).forEach(r -> out.add(new String(r.value(), StandardCharsets.UTF_8)));
                return tps.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
            });
        }
        return out;
    }

    @Test
    void garbageFlagsKeepRoutingOnRedisAndEnqueuesWorking(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) throws Exception {
        Path garbage = dir.resolve("flags.json");
        Files.writeString(garbage, "not json at all");
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer.bootstrapServers(), ns, Duration.ofSeconds(30));
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(garbage))
                .startWait(Duration.ofMillis(500))
                .meterRegistry(meters)
                .build()));
        RoutingJobQueue router = router(
                redis, kafka, flags, RouterConfig.custom().meterRegistry(meters).build());
        for (int i = 0; i < 50; i++) {
            router.enqueue(Job.builder("Count").routingKey("k" + i).build());
        }
        assertEquals(50L, redis.admin().queueSizes().get("default"));
        assertEquals(0.0, meters.get("crossfade.flags.healthy").gauge().value());
    }
}
