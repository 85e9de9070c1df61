package dev.crossfade.redis;

import static dev.crossfade.redis.RunGuardSteps.claimKey;
import static dev.crossfade.redis.RunGuardSteps.marked;
import static dev.crossfade.redis.RunGuardSteps.on;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard.Claim;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The run-once guard against a real Redis: unmarked jobs cost nothing; marked ones run one copy at a time, with tokens,
 * renewal, and what a failure hands on; a mark that arrives late still finds the copy that ran first.
 */
@ExtendWith(CrossfadeServices.class)
class RedisRunGuardTest {
    private RedisBackend backend;
    // Each copy claims on a thread of its own, as each would in a worker pool (claims are held per thread).
    private final ExecutorService copyA = Executors.newSingleThreadExecutor();
    private final ExecutorService copyB = Executors.newSingleThreadExecutor();

    @BeforeEach
    void setUp(RedisService redis, TestNamespace ns) {
        backend = RedisBackend.create(RedisBackendConfig.custom()
                .url(redis.uri().toString())
                .namespace(ns.value())
                .build());
    }

    @AfterEach
    void tearDown() {
        copyA.shutdownNow();
        copyB.shutdownNow();
        backend.close();
    }

    @Test
    void unmarkedJobsRunWithoutAClaimAndLeaveNoKey() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        for (int i = 0; i < 500; i++) {
            Job job = Job.of("W");
            assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
            boolean ok = i % 2 == 0;
            on(copyA, () -> {
                guard.finished(job, ok);
                return null;
            });
        }
        assertEquals(Set.of(), backend.redis().keys(backend.key("crossfade:once:*")));
    }

    @Test
    void aMarkForARunThatAlreadyFinishedHereSettlesIt() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job done = Job.of("W");
        Job failed = Job.of("W");
        for (Job j : List.of(done, failed)) {
            assertEquals(Claim.RUN, on(copyA, () -> guard.claim(j)));
            on(copyA, () -> {
                guard.finished(j, j == done);
                return null;
            });
        }
        // The router's mark arrives after this process ran both unclaimed (the Kafka copy ran before the fallback).
        marked(backend, guard, done);
        marked(backend, guard, failed);
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.redis().get(claimKey(backend, failed)) != null);
        assertEquals("done", backend.redis().get(claimKey(backend, done)));
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(done)));
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(failed)), "the failed run's retry owns it");
        assertEquals(
                Claim.RUN,
                on(copyB, () -> guard.claim(failed.toBuilder().retryCount(0).build())));
    }

    @Test
    void aMarkForARunInProgressHereClaimsItOnItsBehalf() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = Job.of("W");
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        marked(backend, guard, job);
        await().atMost(Duration.ofSeconds(10)).until(() -> backend.redis().get(claimKey(backend, job)) != null);
        assertEquals(Claim.IN_PROGRESS, on(copyB, () -> guard.claim(job)), "the copy running here holds the claim");
        on(copyA, () -> {
            guard.finished(job, true);
            return null;
        });
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(job)));
    }

    @Test
    void oneCopyRunsAtATimeAndASuccessIsFinalForEveryAttempt() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = marked(backend, guard, Job.of("W"));
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        assertEquals(Claim.IN_PROGRESS, on(copyB, () -> guard.claim(job)));
        on(copyA, () -> {
            guard.finished(job, true);
            return null;
        });
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(job)));
        Job laterAttempt = job.toBuilder().retryCount(3).build();
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(laterAttempt)));
    }

    @Test
    void aFailedCopyHandsTheJobToItsRetryNotToTheOtherCopy() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job first = marked(backend, guard, Job.of("W"));
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(first)));
        on(copyA, () -> {
            guard.finished(first, false);
            return null;
        });
        // The other backend's copy of the same attempt must not run: the failed copy's retry owns the job.
        assertEquals(Claim.ALREADY_DONE, on(copyB, () -> guard.claim(first)));
        Job retry = first.toBuilder().retryCount(0).build();
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(retry)));
    }

    @Test
    void aCopyWhoseClaimWasTakenCannotReleaseTheNewHolders() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = marked(backend, guard, Job.of("W"));
        String key = claimKey(backend, job);
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        // A's claim lapses and B takes it (as after a long GC pause past the lease).
        backend.redis().del(key);
        assertEquals(Claim.RUN, on(copyB, () -> guard.claim(job)));
        String bHolds = backend.redis().get(key);
        on(copyA, () -> {
            guard.finished(job, false);
            return null;
        });
        assertEquals(bHolds, backend.redis().get(key), "A's release must not clear or overwrite B's claim");
    }

    /**
     * The claim a mark makes for a copy running unclaimed here fails (Redis errs: here the key has the wrong type);
     * the mark is read once, so the guard tries to settle it again on its next reads until it succeeds.
     */
    @Test
    void aMarkWhoseSettlingFailedIsSettledOnALaterRead() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = Job.of("W");
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        backend.redis().hset(claimKey(backend, job), "not", "a string");
        marked(backend, guard, job);
        Thread.sleep(3 * RedisRunGuard.FOLLOW_EVERY_MS);
        backend.redis().del(claimKey(backend, job));
        await().atMost(Duration.ofSeconds(10))
                .until(() -> String.valueOf(backend.redis().get(claimKey(backend, job)))
                        .startsWith("run:"));
        assertEquals(Claim.IN_PROGRESS, on(copyB, () -> guard.claim(job)), "the running copy holds the claim");
    }

    @Test
    void aRunningCopyKeepsItsClaimPastTheLease() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofMillis(600), Duration.ofMinutes(5));
        Job job = marked(backend, guard, Job.of("W"));
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        Thread.sleep(2_000);
        assertEquals(Claim.IN_PROGRESS, on(copyB, () -> guard.claim(job)), "renewal keeps the claim of a long job");
        assertTrue(backend.redis().pttl(claimKey(backend, job)) > 0);
    }

    @Test
    void aBadLeaseIsRefusedWithItsFix() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class, () -> backend.runGuard(Duration.ZERO, Duration.ofHours(1)));
        assertTrue(e.getMessage().contains("lease must be positive"), e.getMessage());
        assertThrows(
                IllegalArgumentException.class, () -> backend.runGuard(Duration.ofMinutes(2), Duration.ofSeconds(1)));
    }
}
