package dev.crossfade.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.OutcomeFormat;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisJobQueue;
import dev.crossfade.router.RoutingJobQueue;
import dev.crossfade.spring.boot.testapp.Ledger;
import dev.crossfade.spring.boot.testapp.TestApp;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.context.ConfigurableApplicationContext;
import redis.clients.jedis.UnifiedJedis;

/**
 * The starter in a real application ({@link TestApp}) against real Redis and Kafka, with flags from a file through
 * the real LaunchDarkly SDK. Each test starts its own context, since each needs its own properties.
 */
@ExtendWith(CrossfadeServices.class)
class CrossfadeStarterTest {

    @TempDir
    Path dir;

    private List<String> properties(RedisService redis, KafkaService kafka, TestNamespace ns) {
        List<String> p = new ArrayList<>(List.of(
                "spring.main.web-application-type=none",
                "crossfade.redis.url=" + redis.uri(),
                "crossfade.redis.namespace=" + ns.value(),
                "crossfade.flags.file=" + dir.resolve("flags.json"),
                "crossfade.workers.queues=starter",
                "crossfade.workers.concurrency=2",
                "crossfade.workers.shutdown-timeout=2s"));
        if (kafka != null) {
            p.add("crossfade.kafka.bootstrap=" + kafka.bootstrapServers());
            p.add("crossfade.kafka.topic-prefix=" + ns.value());
            p.add("crossfade.kafka.partitions=1");
        }
        return p;
    }

    private static ConfigurableApplicationContext start(List<String> properties) {
        return new SpringApplicationBuilder(TestApp.class)
                .properties(properties.toArray(String[]::new))
                .run();
    }

    @Test
    void jobEnqueuedThroughTheQueueBeanRunsOnceOnTheBeanWorker(
            RedisService redis, KafkaService kafka, TestNamespace ns) {
        try (ConfigurableApplicationContext app = start(properties(redis, kafka, ns))) {
            JobQueue queue = app.getBean(JobQueue.class);
            assertThat(queue).isInstanceOf(RoutingJobQueue.class);
            Ledger ledger = app.getBean(Ledger.class);

            String jid =
                    queue.enqueue(Job.builder("HardWorker").queue("starter").build());

            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.runs(jid) == 1);
            // The flags file starts as "everything on Redis".
            assertThat(ledger.backend(jid)).isEqualTo(Backend.REDIS);
            sleep(500);
            assertThat(ledger.runs(jid)).isEqualTo(1);

            MeterRegistry meters = app.getBean(MeterRegistry.class);
            assertThat(meters.find("crossfade.router.enqueued").meters())
                    .as("router meters")
                    .isNotEmpty();
            assertThat(meters.find("crossfade.flags.decisions").meters())
                    .as("flags meters")
                    .isNotEmpty();

            for (String name : List.of(
                    "crossfadeRedisHealthIndicator",
                    "crossfadeKafkaHealthIndicator",
                    "crossfadeFlagsHealthIndicator")) {
                assertThat(app.getBean(name, HealthIndicator.class).health().getStatus())
                        .as(name)
                        .isEqualTo(Status.UP);
            }
        }
    }

    @Test
    void flagOnKafkaRunsTheJobFromKafka(RedisService redis, KafkaService kafka, TestNamespace ns) {
        FlagsFile flags = FlagsFile.at(dir.resolve("flags.json"));
        flags.createIfMissing();
        flags.setKafkaPercent(100);
        List<String> p = properties(redis, kafka, ns);
        // A slow first topic creation must not fall back to Redis: this test tells where the flags sent a job.
        p.add("crossfade.router.kafka-timeout=30s");
        try (ConfigurableApplicationContext app = start(p)) {
            Ledger ledger = app.getBean(Ledger.class);

            String jid = app.getBean(JobQueue.class)
                    .enqueue(Job.builder("HardWorker").queue("starter").build());

            await().atMost(Duration.ofSeconds(60)).until(() -> ledger.runs(jid) == 1);
            assertThat(ledger.backend(jid)).isEqualTo(Backend.KAFKA);
        }
    }

    /**
     * A guarded rollout's rollback (the hold key {@code crossfade ramp} writes) sends the application's new jobs to
     * Redis within about a second although the flags say Kafka; cleared, the flags decide again. Its router and
     * workers count what the rollout's guardrails judge.
     */
    @Test
    void rolloutHoldKeepsTheRouterOnRedisAndOutcomesAreCounted(
            RedisService redis, KafkaService kafka, TestNamespace ns) {
        FlagsFile flags = FlagsFile.at(dir.resolve("flags.json"));
        flags.createIfMissing();
        flags.setKafkaPercent(100);
        List<String> p = properties(redis, kafka, ns);
        // A slow first topic creation must not fall back to Redis: this test tells where the flags sent a job.
        p.add("crossfade.router.kafka-timeout=30s");
        try (ConfigurableApplicationContext app = start(p)) {
            Ledger ledger = app.getBean(Ledger.class);
            JobQueue queue = app.getBean(JobQueue.class);
            RedisBackend backend = app.getBean(RedisBackend.class);
            UnifiedJedis raw = backend.redis();
            // Where the ramp driver writes it: the namespace's prefix, then crossfade:ramp:hold.
            String holdKey = backend.key("crossfade:ramp:hold");

            raw.set(holdKey, "kafka failed more than redis");
            // One poll period plus slack: a rollback must reach routers within about a second.
            await().atMost(Duration.ofMillis(1500))
                    .until(() -> app.getBean(RoutingFlags.class).hold() != null);
            String held =
                    queue.enqueue(Job.builder("HardWorker").queue("starter").build());
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.runs(held) == 1);
            assertThat(ledger.backend(held)).isEqualTo(Backend.REDIS);

            raw.del(holdKey);
            await().atMost(Duration.ofMillis(1500))
                    .until(() -> app.getBean(RoutingFlags.class).hold() == null);
            String free =
                    queue.enqueue(Job.builder("HardWorker").queue("starter").build());
            await().atMost(Duration.ofSeconds(60)).until(() -> ledger.runs(free) == 1);
            assertThat(ledger.backend(free)).isEqualTo(Backend.KAFKA);

            String stratum = OutcomeFormat.stratum("starter", "HardWorker");
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
                assertThat(counted(backend, OutcomeFormat.runsField(Backend.REDIS, stratum)))
                        .isEqualTo(1);
                assertThat(counted(backend, OutcomeFormat.runsField(Backend.KAFKA, stratum)))
                        .isEqualTo(1);
                assertThat(counted(backend, OutcomeFormat.CHOSEN_KAFKA)).isEqualTo(1);
            });
        }
    }

    /** A field summed over every second's outcome hash under the test's namespace. */
    private static long counted(RedisBackend backend, String field) {
        UnifiedJedis raw = backend.redis();
        long sum = 0;
        for (String key : raw.keys(OutcomeFormat.prefix(backend.key("")) + "*")) {
            String v = raw.hget(key, field);
            sum += v == null ? 0 : Long.parseLong(v);
        }
        return sum;
    }

    /** Kafka down must not keep the application, or its Redis workers, from running; nor hold up its close. */
    @Test
    void kafkaDownStillStartsAndRunsRedisJobs(RedisService redis, TestNamespace ns) {
        List<String> p = properties(redis, null, ns);
        p.add("crossfade.kafka.bootstrap=127.0.0.1:1");
        long started = System.nanoTime();
        ConfigurableApplicationContext app = start(p);
        try {
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
            Ledger ledger = app.getBean(Ledger.class);
            String jid = app.getBean(JobQueue.class)
                    .enqueue(Job.builder("HardWorker").queue("starter").build());
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.runs(jid) == 1);
            assertThat(app.getBean("crossfadeKafkaHealthIndicator", HealthIndicator.class)
                            .health()
                            .getStatus())
                    .isEqualTo(Status.DOWN);
        } finally {
            long closing = System.nanoTime();
            app.close();
            assertThat(Duration.ofNanos(System.nanoTime() - closing)).isLessThan(Duration.ofSeconds(30));
        }
    }

    @Test
    void redisOnlyApplicationOpensNoKafkaClient(RedisService redis, TestNamespace ns) {
        List<String> p = properties(redis, null, ns);
        p.add("crossfade.workers.backends=redis");
        try (ConfigurableApplicationContext app = start(p)) {
            assertThat(app.getBeanProvider(KafkaBackend.class).getIfAvailable()).isNull();
            assertThat(app.getBean(JobQueue.class)).isInstanceOf(RedisJobQueue.class);
            assertThat(app.containsBean("crossfadeKafkaHealthIndicator")).isFalse();
        }
    }

    /**
     * Closing the context while jobs run stops the workers before the Redis pool closes: every job either finished
     * or is back in its queue, none is left in an in-progress list or lost.
     */
    @Test
    void closingUnderLoadLosesNoJob(RedisService redis, TestNamespace ns) {
        List<String> p = properties(redis, null, ns);
        p.add("crossfade.workers.backends=redis");
        p.add("crossfade.workers.concurrency=4");
        p.add("crossfade.workers.shutdown-timeout=300ms");
        Set<String> enqueued = new HashSet<>();
        Ledger ledger;
        try (ConfigurableApplicationContext app = start(p)) {
            JobQueue queue = app.getBean(JobQueue.class);
            ledger = app.getBean(Ledger.class);
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                // Some jobs outlast the shutdown timeout, so some are running when the context closes.
                jobs.add(Job.builder("HardWorker")
                        .queue("starter")
                        .args(i % 10 == 0 ? 2_000L : 50L)
                        .build());
            }
            enqueued.addAll(queue.enqueueAll(jobs));
            await().atMost(Duration.ofSeconds(30)).until(() -> ledger.finishedJobs() >= 20);
        }
        Set<String> finished = ledger.finishedJids();
        try (RedisBackend check = RedisBackend.create(dev.crossfade.redis.RedisBackendConfig.custom()
                .url(redis.uri().toString())
                .namespace(ns.value())
                .build())) {
            Set<String> queued = new HashSet<>();
            for (String payload : check.redis().lrange(check.key("queue:starter"), 0, -1)) {
                queued.add(dev.crossfade.api.codec.JobCodec.defaults()
                        .decode(payload)
                        .jid());
            }
            Set<String> lost = new HashSet<>(enqueued);
            lost.removeAll(finished);
            lost.removeAll(queued);
            assertThat(lost).as("jobs neither finished nor queued").isEmpty();
            assertThat(queued).as("jobs still queued when the context closed").isNotEmpty();
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
