package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;

import dev.crossfade.api.Job;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/** What the run-once guard's tests do to it: call it from a copy's own thread, and mark jobs as the router does. */
final class RunGuardSteps {
    private RunGuardSteps() {}

    /** Runs {@code call} on {@code copy}'s thread (the guard claims and finishes on one thread per run). */
    static <T> T on(ExecutorService copy, Callable<T> call) throws Exception {
        return CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return call.call();
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        },
                        copy)
                .get(30, TimeUnit.SECONDS);
    }

    /** Marks the job as the router does, and waits until the guard has read the mark. */
    static Job marked(RedisBackend backend, RedisRunGuard guard, Job job) {
        backend.twinMarks(Duration.ofMinutes(5)).mark(List.of(job.jid()));
        await().atMost(Duration.ofSeconds(10)).until(() -> guard.knowsTwin(job.jid()));
        return job;
    }

    /** The key holding the job's claim or outcome. */
    static String claimKey(RedisBackend backend, Job job) {
        return backend.key("crossfade:once:" + job.jid());
    }
}
