package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalKafkaCluster;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.kafka.PartitionLag;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * On a three-node cluster (replication 3, min.insync.replicas 2): jobs enqueued through the router and worked in
 * group and in share mode while the leader of the busiest partition is SIGKILLed and later restarted. Every enqueue
 * is acknowledged by Kafka or falls back to Redis, none is lost, and every job that ran twice is counted and
 * classified. The 50,000 jobs per mode; {@code -Dcrossfade.cluster.jobs=N} runs another count.
 */
@ExtendWith(CrossfadeServices.class)
class ClusterLeaderKillTest {
    private static final int JOBS = Integer.getInteger("crossfade.cluster.jobs", 50_000);
    private static final int BATCH = 250;
    private static LocalKafkaCluster cluster;

    @TempDir
    Path dir;

    private final List<AutoCloseable> closing = new ArrayList<>();
    /** jid → the backends that ran its body, one entry per run. */
    private final Map<String, List<String>> runs = new ConcurrentHashMap<>();

    @BeforeAll
    static void startCluster() {
        cluster = LocalKafkaCluster.builder().partitions(6).build().start();
    }

    @AfterAll
    static void closeCluster() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        // The next mode starts with every node up and back in sync.
        cluster.nodes().forEach(LocalKafka::start);
        cluster.awaitBrokers(3, Duration.ofSeconds(60));
    }

    private <T extends AutoCloseable> T closeLater(T c) {
        closing.add(0, c);
        return c;
    }

    @ParameterizedTest
    @EnumSource(KafkaBackendConfig.Mode.class)
    void aLeaderKilledMidLoadLosesNoJob(KafkaBackendConfig.Mode mode, RedisService redisServer, TestNamespace ns)
            throws Exception {
        String prefix = ns.value() + "-" + mode.name().toLowerCase(java.util.Locale.ROOT);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        RedisBackend redis = closeLater(RedisBackend.create(RedisBackendConfig.custom()
                .url(redisServer.uri().toString())
                .namespace(prefix + ":")
                .pollInterval(Duration.ofMillis(100))
                .build()));
        // No replication given: topics take the cluster's default of 3, and with it min.insync.replicas 2.
        KafkaBackendConfig.Builder kc = KafkaBackendConfig.custom()
                .bootstrapServers(cluster.bootstrapServers())
                .topicPrefix(prefix)
                .mode(mode)
                .partitions(6)
                .fetchMaxWait(Duration.ofMillis(50))
                .commitInterval(Duration.ofMillis(200))
                .enqueueTimeout(Duration.ofSeconds(30))
                .groupConfig("consumer.heartbeat.interval.ms", "500")
                .groupConfig("consumer.session.timeout.ms", "6000");
        if (mode == KafkaBackendConfig.Mode.SHARE) {
            kc.groupId(prefix + ".share")
                    .groupConfig("share.heartbeat.interval.ms", "500")
                    .groupConfig("share.session.timeout.ms", "6000");
        }
        KafkaBackend kafka = closeLater(KafkaBackend.create(kc.build()));
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .build()));
        RoutingJobQueue router = closeLater(new RoutingJobQueue(
                redis.queue(),
                kafka.queue(),
                flags,
                RouterConfig.custom()
                        .meterRegistry(meters)
                        .twinMarks(redis.twinMarks(Duration.ofMinutes(10)))
                        .build()));
        WorkerRegistry registry = WorkerRegistry.builder()
                .register(
                        "Count",
                        (args, ctx) -> runs.computeIfAbsent(ctx.jid(), k -> new CopyOnWriteArrayList<>())
                                .add(ctx.backend().id()))
                .build();
        ExecutionCore core = ExecutionCore.builder(registry)
                .guard(redis.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(10)))
                .build();
        WorkerRuntime workers = MigrationWorkerRuntime.of(
                redis.workers(core, Set.of("default"), 4), kafka.workers(core, Set.of("default"), 8));
        closeLater(workers::close);
        workers.start();

        long begin = System.nanoTime();
        List<String> accepted = new ArrayList<>();
        AtomicInteger refused = new AtomicInteger();
        LocalKafka killed = null;
        int busiest = -1;
        for (int sent = 0; sent < JOBS; sent += BATCH) {
            List<Job> batch = new ArrayList<>(BATCH);
            for (int i = sent; i < Math.min(JOBS, sent + BATCH); i++) {
                batch.add(Job.of("Count", i));
            }
            try {
                accepted.addAll(router.enqueueAll(batch));
            } catch (RuntimeException e) {
                refused.addAndGet(batch.size());
            }
            if (killed == null && sent >= JOBS / 3) {
                busiest = kafka.admin().lag("default").stream()
                        .max(Comparator.comparingLong(PartitionLag::offsetLag))
                        .map(PartitionLag::partition)
                        .orElse(0);
                killed = cluster.leaderOf(prefix + ".default", busiest);
                killed.kill();
            } else if (killed != null && !killed.isRunning() && sent >= 2 * JOBS / 3) {
                killed.start();
            }
        }
        if (killed != null && !killed.isRunning()) {
            killed.start();
        }
        long enqueuedMs = Duration.ofNanos(System.nanoTime() - begin).toMillis();

        await().atMost(Duration.ofSeconds(180))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> runs.keySet().containsAll(accepted));
        // Late duplicates (a redelivery after the kill) would show within a few seconds.
        Thread.sleep(3_000);
        long doneMs = Duration.ofNanos(System.nanoTime() - begin).toMillis();

        double toKafka = count(meters, "crossfade.router.enqueued", "backend", "kafka");
        double toRedis = count(meters, "crossfade.router.enqueued", "backend", "redis");
        double fallbacks = meters.find("crossfade.router.fallbacks").counters().stream()
                .mapToDouble(Counter::count)
                .sum();
        Map<String, Long> duplicates = runs.values().stream()
                .filter(r -> r.size() > 1)
                .collect(Collectors.groupingBy(r -> String.join("+", r), TreeMap::new, Collectors.counting()));
        List<String> lost = accepted.stream().filter(j -> !runs.containsKey(j)).toList();
        System.out.printf(
                "cluster %s: %d jobs, leader of partition %d (node %d) SIGKILLed and restarted; enqueued in %d ms, "
                        + "all run in %d ms; to Kafka %.0f, to Redis %.0f (fallbacks %.0f); lost %d; "
                        + "duplicates %s%n",
                mode,
                JOBS,
                busiest,
                killed == null ? -1 : killed.nodeId(),
                enqueuedMs,
                doneMs,
                toKafka,
                toRedis,
                fallbacks,
                lost.size(),
                duplicates);

        assertEquals(0, refused.get(), "enqueues neither acknowledged by Kafka nor taken by Redis");
        assertEquals(JOBS, accepted.size());
        assertEquals(JOBS, (long) (toKafka + toRedis), "every enqueue acknowledged by one backend");
        assertEquals(List.of(), lost.subList(0, Math.min(10, lost.size())), lost.size() + " jobs lost");
        // A job on both backends (a fallback after a Kafka write of unknown fate) runs once: the run guard.
        assertTrue(
                duplicates.keySet().stream().noneMatch(k -> k.contains("redis")),
                "a fallen-back job ran on both backends: " + duplicates);
    }

    private static double count(SimpleMeterRegistry meters, String name, String tag, String value) {
        Counter c = meters.find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }
}
