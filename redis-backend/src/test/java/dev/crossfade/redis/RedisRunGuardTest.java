package dev.crossfade.redis;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard.Claim;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The run-once guard against a real Redis: one running copy per jid, tokens, renewal, and what a failure hands on. */
@ExtendWith(CrossfadeServices.class)
class RedisRunGuardTest {
    private RedisBackend backend;
    // Each copy claims on a thread of its own, as each would in a worker pool (claims are held per thread).
    private final ExecutorService copyA = Executors.newSingleThreadExecutor();
    private final ExecutorService copyB = Executors.newSingleThreadExecutor();

    @BeforeEach
    void setUp(RedisService redis, TestNamespace ns) {
        backend = RedisBackend.create(RedisBackendConfig.custom().url(redis.uri().toString()).namespace(ns.value())
                .build());
    }

    @AfterEach
    void tearDown() {
        copyA.shutdownNow();
        copyB.shutdownNow();
        backend.close();
    }

    private static <T> T on(ExecutorService copy, java.util.concurrent.Callable<T> call) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.call();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, copy).get(10, TimeUnit.SECONDS);
    }

    @Test
    void oneCopyRunsAtATimeAndASuccessIsFinalForEveryAttempt() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofSeconds(30), Duration.ofMinutes(5));
        Job job = Job.of("W");
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
        Job first = Job.of("W");
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
        Job job = Job.of("W");
        String key = backend.key("crossfade:once:" + job.jid());
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

    @Test
    void aRunningCopyKeepsItsClaimPastTheLease() throws Exception {
        RedisRunGuard guard = backend.runGuard(Duration.ofMillis(600), Duration.ofMinutes(5));
        Job job = Job.of("W");
        assertEquals(Claim.RUN, on(copyA, () -> guard.claim(job)));
        Thread.sleep(2_000);
        assertEquals(Claim.IN_PROGRESS, on(copyB, () -> guard.claim(job)), "renewal keeps the claim of a long job");
        assertTrue(backend.redis().pttl(backend.key("crossfade:once:" + job.jid())) > 0);
    }

    @Test
    void aBadLeaseIsRefusedWithItsFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> backend.runGuard(Duration.ZERO, Duration.ofHours(1)));
        assertTrue(e.getMessage().contains("lease must be positive"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> backend.runGuard(Duration.ofMinutes(2),
                Duration.ofSeconds(1)));
    }
}
