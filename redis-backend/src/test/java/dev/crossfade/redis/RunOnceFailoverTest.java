package dev.crossfade.redis;

import static dev.crossfade.redis.RunGuardSteps.claimKey;
import static dev.crossfade.redis.RunGuardSteps.marked;
import static dev.crossfade.redis.RunGuardSteps.on;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard.Claim;
import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.LocalRedisSentinel;
import dev.crossfade.devservices.TestNamespace;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.RedisClient;

/**
 * The run-once state under {@code waitReplicas 1}, against a real master, replica and Sentinels: twin marks, claims and
 * outcomes WAIT for the replica as enqueues do, and what no replica confirmed cannot let a copy run twice unnoticed. The
 * replica is frozen (SIGSTOP) to keep writes from reaching it; the last test fails the master over.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RunOnceFailoverTest {
    private static LocalRedisSentinel redis;
    private RedisBackend backend;
    private final ExecutorService copyA = Executors.newSingleThreadExecutor();
    private final ExecutorService copyB = Executors.newSingleThreadExecutor();

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

    @BeforeEach
    void setUp() {
        backend = RedisBackend.create(TestConfigs.fast(
                        redis.uri(), TestNamespace.random("once-failover").value())
                .waitReplicas(1)
                .waitTimeout(Duration.ofMillis(300))
                .build());
    }

    @AfterEach
    void tearDown() {
        copyA.shutdownNow();
        copyB.shutdownNow();
        backend.close();
        for (LocalRedis n : redis.nodes()) {
            if (n.isPaused()) {
                n.resume();
            }
        }
    }

    private LocalRedis replica() {
        LocalRedis master = redis.master();
        return redis.nodes().stream().filter(n -> n != master).findFirst().orElseThrow();
    }

    @Test
    @Order(1)
    void aTwinMarkNoReplicaConfirmedSaysSo() {
        TwinMarks marks = backend.twinMarks(Duration.ofMinutes(5));
        marks.mark(List.of(Job.of("W").jid()));
        replica().pause();
        assertThrows(
                TwinMarks.Unconfirmed.class,
                () -> marks.mark(List.of(Job.of("W").jid())));
    }

    @Test
    @Order(2)
    void aClaimNoReplicaConfirmedIsGivenBackAndTheCopyDeferred() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = marked(backend, guard, Job.of("W"));
        LocalRedis replica = replica();
        replica.pause();
        assertEquals(Claim.IN_PROGRESS, on(copyA, () -> guard.claim(job)), "not run on a claim a failover could lose");
        assertNull(backend.redis().get(claimKey(backend, job)), "the unconfirmed claim was given back");
        replica.resume();
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)), "the deferred copy runs once the replica is back");
    }

    /**
     * A copy succeeds while the replica is cut off, then the master dies: its {@code done} existed on the master only.
     * The guard writes it again on the promoted replica, so the other copy is acknowledged unrun instead of running
     * once the first copy's claim expires there (the old master is back as a replica by then, so claims are confirmed).
     */
    @Test
    @Order(3)
    void anOutcomeNoReplicaConfirmedSurvivesAFailover() throws Exception {
        Duration lease = Duration.ofSeconds(2);
        RedisRunGuard guard = backend.runGuard(lease, Duration.ofMinutes(5));
        Job job = marked(backend, guard, Job.of("W"));
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        LocalRedis master = redis.master();
        LocalRedis replica = replica();
        replica.pause();
        try (RedisClient m = RedisClient.create(master.uri())) {
            m.sendCommand(Protocol.Command.CLIENT, "KILL", "TYPE", "replica");
        }
        on(copyA, () -> {
            guard.finished(job, true);
            return null;
        });
        master.kill();
        replica.resume();
        redis.awaitPromotion(master, Duration.ofSeconds(30));
        redis.rejoin(master, Duration.ofSeconds(30));
        // Past the lease the first copy held on the promoted replica: without the outcome, the other copy runs now.
        Thread.sleep(lease.toMillis() + 500);
        Claim other = await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> on(copyB, () -> guard.claim(job)), c -> c != Claim.IN_PROGRESS);
        assertEquals(Claim.ALREADY_DONE, other, "the copy that succeeded before the failover is remembered");
    }
}
