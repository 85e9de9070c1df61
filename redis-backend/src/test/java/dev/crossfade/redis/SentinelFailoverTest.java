package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.LocalRedisSentinel;
import dev.crossfade.devservices.TestNamespace;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisClient;

/**
 * A Sentinel failover in the middle of 20,000 enqueues and their processing: the replica loses its link to the master
 * (frozen with SIGSTOP, its connection dropped by the master) for 300 ms, the master is SIGKILLed, Sentinel promotes the replica, the old master rejoins as its replica. The backend follows the
 * promotion on its own; every job enqueued after it runs. With {@code waitReplicas 1} no acknowledged enqueue is
 * lost; without it the loss is measured and printed (Redis replicates asynchronously, so it may be above 0).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SentinelFailoverTest {
    private static final int JOBS = 20_000;
    private static final int PRODUCERS = 4;
    private static LocalRedisSentinel redis;

    @BeforeAll
    static void start() {
        redis = LocalRedisSentinel.builder().build().start();
    }

    @AfterAll
    static void stop() {
        if (redis != null) {
            redis.close();
        }
    }

    @Test
    @Order(1)
    void withoutWaitReplicasTheLossIsMeasured() throws Exception {
        Result r = failoverDuringEnqueues(0);
        assertEquals(Set.of(), r.lostAfterPromotion, "jobs enqueued after the promotion all ran");
    }

    @Test
    @Order(2)
    void withWaitReplicasOneNoAcknowledgedEnqueueIsLost() throws Exception {
        Result r = failoverDuringEnqueues(1);
        assertEquals(0, r.lost, "acknowledged enqueues lost in the failover with waitReplicas 1");
        assertEquals(Set.of(), r.lostAfterPromotion, "jobs enqueued after the promotion all ran");
    }

    private record Result(int lost, int refused, Set<String> lostAfterPromotion) {}

    private static Result failoverDuringEnqueues(int waitReplicas) throws Exception {
        Set<String> ran = ConcurrentHashMap.newKeySet();
        Set<String> acked = ConcurrentHashMap.newKeySet();
        Set<String> ackedAfterPromotion = ConcurrentHashMap.newKeySet();
        AtomicInteger refused = new AtomicInteger();
        AtomicLong promotedAt = new AtomicLong(Long.MAX_VALUE);
        // Enqueue latency before the fault: what waitReplicas costs each enqueue.
        java.util.concurrent.atomic.AtomicBoolean faulted = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicLong calmNanos = new AtomicLong();
        AtomicLong calmCount = new AtomicLong();
        String ns = TestNamespace.random("failover").value();
        long begin = System.nanoTime();
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), ns)
                        .waitReplicas(waitReplicas)
                        .build());
                RedisWorkerRuntime workers = backend.workers(
                        ExecutionCore.builder(WorkerRegistry.builder()
                                        .register("Counted", (args, ctx) -> {
                                            Thread.sleep(2); // slower than the producers: a backlog waits
                                            ran.add(ctx.jid());
                                        })
                                        .build())
                                .build(),
                        List.of("default"),
                        4)) {
            workers.start();
            List<Thread> producers = new ArrayList<>();
            for (int t = 0; t < PRODUCERS; t++) {
                Thread producer = new Thread(() -> {
                    for (int i = 0; i < JOBS / PRODUCERS; i++) {
                        Job job = Job.of("Counted", i);
                        while (true) {
                            try {
                                long t0 = System.nanoTime();
                                backend.queue().enqueue(job);
                                if (promotedAt.get() == Long.MAX_VALUE && !faulted.get()) {
                                    calmNanos.addAndGet(System.nanoTime() - t0);
                                    calmCount.incrementAndGet();
                                }
                                break;
                            } catch (EnqueueException e) {
                                refused.incrementAndGet();
                                sleep(20);
                            }
                        }
                        acked.add(job.jid());
                        if (System.nanoTime() > promotedAt.get()) {
                            ackedAfterPromotion.add(job.jid());
                        }
                    }
                });
                producer.start();
                producers.add(producer);
            }
            while (acked.size() < JOBS / 4) {
                sleep(5);
            }
            // The replica's link breaks (a slow network, a full output buffer), then the master dies before it is back:
            // what the master acknowledged meanwhile exists nowhere else.
            LocalRedis master = redis.master();
            LocalRedis replica =
                    redis.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
            faulted.set(true);
            replica.pause();
            try (RedisClient m = RedisClient.create(master.uri())) {
                m.sendCommand(Protocol.Command.CLIENT, "KILL", "TYPE", "replica");
            }
            sleep(300);
            int ackedAtKill = acked.size();
            master.kill();
            replica.resume();
            long killed = System.nanoTime();
            redis.awaitPromotion(master, Duration.ofSeconds(30));
            promotedAt.set(System.nanoTime());
            long failoverMs = Duration.ofNanos(promotedAt.get() - killed).toMillis();
            redis.rejoin(master, Duration.ofSeconds(30));
            for (Thread p : producers) {
                p.join();
            }
            // Settled: every acknowledged job ran, or nothing more ran for two seconds.
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int last = -1;
            long stableSince = System.nanoTime();
            while (!ran.containsAll(acked) && System.nanoTime() < deadline) {
                if (ran.size() != last) {
                    last = ran.size();
                    stableSince = System.nanoTime();
                } else if (System.nanoTime() - stableSince
                                > Duration.ofSeconds(2).toNanos()
                        && backend.redis().llen(backend.key("queue:default")) == 0) {
                    break;
                }
                sleep(50);
            }
            Set<String> lost = new HashSet<>(acked);
            lost.removeAll(ran);
            Set<String> lostAfter = new HashSet<>(ackedAfterPromotion);
            lostAfter.removeAll(ran);
            System.out.printf(
                    "Sentinel failover with waitReplicas %d: %d enqueues acknowledged (%d before the kill), %d lost; "
                            + "%d enqueue attempts refused; promotion %d ms after the SIGKILL; %d s in all; "
                            + "mean enqueue before the fault %d µs (%d producer threads)%n",
                    waitReplicas,
                    acked.size(),
                    ackedAtKill,
                    lost.size(),
                    refused.get(),
                    failoverMs,
                    Duration.ofNanos(System.nanoTime() - begin).toSeconds(),
                    calmNanos.get() / Math.max(1, calmCount.get()) / 1_000,
                    PRODUCERS);
            workers.stop(Duration.ofSeconds(5));
            return new Result(lost.size(), refused.get(), lostAfter);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
