package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Routing logic with the real LaunchDarkly SDK over a flags file, and in-memory queues standing in for the backends
 * (the real-backend scenarios are in RouterIntegrationTest). The "Kafka" queue here can be made to fail or hang.
 */
class RoutingJobQueueTest {
    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final InMemoryBackend redis = InMemoryBackend.fake();
    private final InMemoryBackend kafkaStore = InMemoryBackend.fake();
    private final AtomicBoolean kafkaDown = new AtomicBoolean();
    private final CountDownLatch hang = new CountDownLatch(1);
    private final AtomicBoolean kafkaHangs = new AtomicBoolean();
    private RoutingFlags flags;
    private RoutingJobQueue router;

    /** Per call to the Kafka stand-in with a limit: the calling thread and the limit it was given. */
    private final List<String> kafkaThreads = new CopyOnWriteArrayList<>();

    private final List<Duration> kafkaLimits = new CopyOnWriteArrayList<>();

    /**
     * A Kafka stand-in that can fail or hang on demand. A hang keeps to the limit of a call that has one, as JobQueue's
     * contract asks (and throws EnqueueTimeoutException), and holds a call without one until the test ends.
     */
    private final JobQueue kafka = new JobQueue() {
        private void check(Duration limit) {
            if (kafkaHangs.get()) {
                try {
                    if (limit == null) {
                        hang.await();
                    } else if (!hang.await(limit.toNanos(), TimeUnit.NANOSECONDS)) {
                        throw new EnqueueTimeoutException(Backend.KAFKA, "no ack within " + limit + " (test)", null);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            if (kafkaDown.get()) {
                throw new EnqueueException(Backend.KAFKA, "broker unreachable (test)");
            }
        }

        @Override
        public String enqueue(Job job) {
            check(null);
            return kafkaStore.queue().enqueue(job);
        }

        @Override
        public List<String> enqueueAll(List<Job> jobs) {
            check(null);
            return kafkaStore.queue().enqueueAll(jobs);
        }

        @Override
        public List<String> enqueueAll(List<Job> jobs, Duration limit) {
            kafkaThreads.add(Thread.currentThread().getName());
            kafkaLimits.add(limit);
            check(limit);
            List<String> jids = new ArrayList<>();
            for (Job j : jobs) {
                jids.add(
                        j.at() == null
                                ? kafkaStore.queue().enqueue(j)
                                : kafkaStore.queue().enqueueAt(j, j.at()));
            }
            return jids;
        }

        @Override
        public String enqueueAt(Job job, Instant at) {
            check(null);
            return kafkaStore.queue().enqueueAt(job, at);
        }

        @Override
        public void close() {}
    };

    private RoutingJobQueue router(double kafkaPercent, double shadowPercent) {
        return router(kafkaPercent, shadowPercent, kafka);
    }

    private RoutingJobQueue router(double kafkaPercent, double shadowPercent, JobQueue kafka) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(kafkaPercent, false, shadowPercent));
        flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .build());
        router = new RoutingJobQueue(
                redis.queue(),
                kafka,
                flags,
                RouterConfig.custom()
                        .kafkaTimeout(Duration.ofMillis(300))
                        .circuitBreaker(CircuitBreakerConfig.custom()
                                .slidingWindowSize(10)
                                .minimumNumberOfCalls(5)
                                .waitDurationInOpenState(Duration.ofMillis(500))
                                .permittedNumberOfCallsInHalfOpenState(2)
                                .automaticTransitionFromOpenToHalfOpenEnabled(true)
                                .build())
                        .meterRegistry(meters)
                        .build());
        return router;
    }

    @AfterEach
    void close() {
        hang.countDown();
        if (router != null) {
            router.close();
        }
        if (flags != null) {
            flags.close();
        }
    }

    private int total(InMemoryBackend b) {
        return b.jobs(Job.DEFAULT_QUEUE).size();
    }

    @Test
    void enqueueManySplitsByFlagAndSendsEachPartOnce() {
        router(50, 0);
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            jobs.add(Job.builder("W").routingKey("acct-" + i).build());
        }
        List<String> jids = router.enqueueAll(jobs);
        assertEquals(2000, jids.size());
        assertEquals(2000, total(redis) + total(kafkaStore));
        assertTrue(total(kafkaStore) > 800 && total(kafkaStore) < 1200, "kafka got " + total(kafkaStore));
    }

    @Test
    void kafkaErrorsFallBackToRedisAndTheBreakerOpensThenCloses() {
        router(100, 0);
        kafkaDown.set(true);
        for (int i = 0; i < 20; i++) {
            router.enqueue(Job.of("W", i));
        }
        assertEquals(20, total(redis), "every job accepted, on Redis");
        assertEquals(CircuitBreaker.State.OPEN, router.kafkaBreakerState());
        assertTrue(meters.get("crossfade.router.fallbacks")
                        .tag("cause", "circuit-open")
                        .counter()
                        .count()
                > 0);

        kafkaDown.set(false);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            router.enqueue(Job.of("W", "probe"));
            return router.kafkaBreakerState() == CircuitBreaker.State.CLOSED;
        });
        int before = total(kafkaStore);
        router.enqueue(Job.of("W", "after"));
        assertEquals(before + 1, total(kafkaStore), "traffic returns to Kafka once the breaker closes");
    }

    @Test
    void aHangingKafkaTimesOutAndTheJobLandsOnRedis() {
        router(100, 0);
        kafkaHangs.set(true);
        String jid = router.enqueue(Job.of("W", 1));
        assertEquals(jid, redis.jobs(Job.DEFAULT_QUEUE).get(0).jid());
        assertEquals(
                1.0,
                meters.get("crossfade.router.fallbacks")
                        .tag("cause", "timeout")
                        .counter()
                        .count());
    }

    /**
     * Kafka is called on the caller's thread with the router's limit, which Kafka keeps to by itself: the router has no
     * thread of its own to hand a call to. A scheduled job carries its time to Kafka in the job.
     */
    @Test
    void kafkaIsCalledOnTheCallersThreadWithTheRoutersLimit() {
        router(100, 0);
        String me = Thread.currentThread().getName();
        router.enqueue(Job.of("W", 1));
        router.enqueueAll(List.of(Job.of("W", 2), Job.of("W", 3)));
        Instant at = Instant.now().plusSeconds(60).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        router.enqueueAt(Job.of("W", 4), at);
        assertEquals(List.of(me, me, me), kafkaThreads);
        assertEquals(List.of(Duration.ofMillis(300), Duration.ofMillis(300), Duration.ofMillis(300)), kafkaLimits);
        assertEquals(3, total(kafkaStore));
        assertEquals(at, kafkaStore.scheduled().get(0).at());
    }

    /**
     * A caller's own limit, shorter than the router's, bounds the whole call: Kafka gets half of it, so a fallback to
     * Redis has the other half.
     */
    @Test
    void aCallersShorterLimitBoundsTheKafkaPart() {
        router(100, 0);
        router.enqueueAll(List.of(Job.of("W", 1)), Duration.ofMillis(200));
        assertTrue(kafkaLimits.get(0).compareTo(Duration.ofMillis(100)) <= 0, "Kafka was given " + kafkaLimits);
        kafkaHangs.set(true);
        String jid = router.enqueue(Job.of("W", 2), Duration.ofMillis(200));
        assertEquals(jid, redis.jobs(Job.DEFAULT_QUEUE).get(0).jid(), "the hung Kafka part fell back to Redis");
        assertThrows(EnqueueTimeoutException.class, () -> router.enqueueAll(List.of(Job.of("W", 3)), Duration.ZERO));
    }

    @Test
    void shadowCopiesGoToTheOtherBackendMarkedAndTheAuthoritativeCopyNamesThem() {
        router(0, 100);
        router.enqueue(Job.of("W", 1));
        Job primary = redis.jobs(Job.DEFAULT_QUEUE).get(0);
        Job copy = kafkaStore.jobs(Job.DEFAULT_QUEUE).get(0);
        assertEquals(primary.jid(), copy.jid());
        assertTrue(copy.shadow());
        assertEquals("kafka", primary.extra().get(RoutingJobQueue.SHADOWED_TO).textValue());

        kafkaDown.set(true);
        router.enqueue(Job.of("W", 2));
        assertEquals(2, total(redis), "a failing shadow never fails the enqueue");
    }

    @Test
    void aFallenBackJobNoLongerNamesTheShadowThatWasDropped() {
        router(100, 100);
        kafkaDown.set(true);
        router.enqueue(Job.of("W", 1));
        router.enqueueAll(List.of(Job.of("W", 2), Job.of("W", 3)));
        assertEquals(3, total(redis));
        assertTrue(
                redis.jobs(Job.DEFAULT_QUEUE).stream()
                        .noneMatch(j -> j.shadow() || j.extra().containsKey(RoutingJobQueue.SHADOWED_TO)),
                "no shadow, and none expected by comparisons");
    }

    /** A router sending every job to Kafka, with a 300 ms Kafka limit, these twin marks and a 5 s fence. */
    private RoutingJobQueue fencingRouter(TwinMarks marks) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(100, false, 0));
        flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .build());
        return new RoutingJobQueue(
                redis.queue(),
                kafka,
                flags,
                RouterConfig.custom()
                        .kafkaTimeout(Duration.ofMillis(300))
                        .meterRegistry(meters)
                        .twinMarks(marks)
                        .twinFence(Duration.ofSeconds(5))
                        .build());
    }

    @Test
    void aKafkaWriteOfUnknownFateIsMarkedAndItsRedisCopyFenced() {
        List<String> marked = new CopyOnWriteArrayList<>();
        router = fencingRouter(marked::addAll);
        kafkaHangs.set(true);
        Instant before = Instant.now();
        String jid = router.enqueue(Job.of("W", 1));
        assertEquals(List.of(jid), marked, "a timed-out write may have landed: marked before the fallback");
        assertEquals(0, total(redis), "the Redis copy waits out the fence");
        Instant due = redis.scheduled().get(0).at();
        assertTrue(!due.isBefore(before.plusSeconds(5)), "due " + due);
    }

    /**
     * A mark the store took but no replica confirmed (redis.wait-replicas) is on the master, where every guard reads
     * it: the Redis copy is still fenced, rather than treated as unmarked and let run at once beside the Kafka copy.
     */
    @Test
    void aMarkNoReplicaConfirmedStillFencesTheRedisCopy() {
        List<String> marked = new CopyOnWriteArrayList<>();
        router = fencingRouter(jids -> {
            marked.addAll(jids);
            throw new TwinMarks.Unconfirmed("only 0 of 1 replica(s) acknowledged the write", null);
        });
        kafkaHangs.set(true);
        Instant before = Instant.now();
        String jid = router.enqueue(Job.of("W", 1));
        assertEquals(List.of(jid), marked);
        assertEquals(0, total(redis), "the Redis copy waits out the fence");
        Instant due = redis.scheduled().get(0).at();
        assertTrue(!due.isBefore(before.plusSeconds(5)), "due " + due);
    }

    /**
     * Redis took the job on its master but no replica confirmed it (redis.wait-replicas): the copy there may run, so
     * the job is marked before its Kafka copy is written. A Redis failure that stored nothing marks nothing.
     */
    @Test
    void aRedisWriteStoredButUnconfirmedIsMarkedBeforeItsKafkaCopy() {
        List<String> marked = new CopyOnWriteArrayList<>();
        AtomicBoolean stored = new AtomicBoolean(true);
        JobQueue unconfirmedRedis = new JobQueue() {
            private EnqueueException fail() {
                return new EnqueueException(
                        Backend.REDIS, "1 of 1 replica(s) did not acknowledge (test)", null, stored.get());
            }

            @Override
            public String enqueue(Job job) {
                throw fail();
            }

            @Override
            public List<String> enqueueAll(List<Job> jobs) {
                throw fail();
            }

            @Override
            public List<String> enqueueAll(List<Job> jobs, Duration limit) {
                throw fail();
            }

            @Override
            public String enqueueAt(Job job, Instant at) {
                throw fail();
            }

            @Override
            public void close() {}
        };
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(0, false, 0));
        flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(meters)
                .build());
        router = new RoutingJobQueue(
                unconfirmedRedis,
                kafka,
                flags,
                RouterConfig.custom()
                        .meterRegistry(meters)
                        .twinMarks(marked::addAll)
                        .build());

        String jid = router.enqueue(Job.of("W", 1));
        assertEquals(List.of(jid), marked, "stored on the master: marked before the Kafka copy");
        assertEquals(1, total(kafkaStore));

        stored.set(false);
        router.enqueue(Job.of("W", 2));
        assertEquals(List.of(jid), marked, "nothing stored: nothing marked");
        assertEquals(2, total(kafkaStore));
    }

    @Test
    void failsOnlyWhenNoBackendAccepts() {
        router(100, 0);
        kafkaDown.set(true);
        JobQueue brokenRedis = InMemoryBackend.fake().queue();
        brokenRedis.close();
        try (RoutingJobQueue bothDown = new RoutingJobQueue(
                brokenRedis,
                kafka,
                flags,
                RouterConfig.custom().meterRegistry(meters).build())) {
            EnqueueException e = assertThrows(EnqueueException.class, () -> bothDown.enqueue(Job.of("W")));
            assertTrue(e.getMessage().contains("no backend accepted"), e.getMessage());
            assertTrue(e.getMessage().contains("broker unreachable"), e.getMessage());
        }
    }
}
