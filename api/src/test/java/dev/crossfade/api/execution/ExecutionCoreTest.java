package dev.crossfade.api.execution;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class ExecutionCoreTest {
    private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");
    private final Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);

    private ExecutionCore core(WorkerRegistry registry) {
        return ExecutionCore.builder(registry).clock(clock).build();
    }

    @Test
    void successPassesArgsContextAndResult() {
        List<String> seen = new ArrayList<>();
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Adder", (args, ctx) -> {
                    seen.add(ctx.jid() + "/" + ctx.queue() + "/" + ctx.attempt() + "/" + ctx.backend());
                    ctx.result(args.get(0, Integer.class) + args.get(1, Integer.class));
                })
                .build();
        Job job = Job.builder("Adder").args(2, 3).queue("math").build();
        Outcome o = core(reg).execute(job, Backend.KAFKA);
        Outcome.Succeeded s = assertInstanceOf(Outcome.Succeeded.class, o);
        assertEquals(5, s.result());
        assertTrue(s.ran());
        assertEquals(List.of(job.jid() + "/math/1/KAFKA"), seen);
    }

    @Test
    void firstFailureFollowsSidekiqBookkeeping() {
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Boom", (a, c) -> {
                    throw new IllegalArgumentException("bad input");
                })
                .build();
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, core(reg).execute(Job.of("Boom"), Backend.REDIS));
        assertEquals(0, r.job().retryCount());
        assertEquals(NOW, r.job().failedAt());
        assertNull(r.job().retriedAt());
        assertEquals("java.lang.IllegalArgumentException", r.job().errorClass());
        assertEquals("bad input", r.job().errorMessage());
        long delay = Duration.between(NOW, r.dueAt()).getSeconds();
        assertTrue(delay >= 15 && delay <= 24, "first retry in 15..24 s, was " + delay);

        Outcome.Retry again = assertInstanceOf(Outcome.Retry.class, core(reg).execute(r.job(), Backend.REDIS));
        assertEquals(1, again.job().retryCount());
        assertEquals(NOW, again.job().retriedAt());
        assertEquals(NOW, again.job().failedAt(), "failed_at keeps the first failure");
    }

    @RepeatedTest(20)
    void sidekiqBackoffStaysInItsRange() {
        for (int count = 0; count < 25; count++) {
            long s = RetryPolicy.sidekiq().delay(count, null).getSeconds();
            long base = (long) Math.pow(count, 4) + 15;
            assertTrue(s >= base && s < base + 10L * (count + 1), "count " + count + " gave " + s);
        }
    }

    @Test
    void retriesRespectJobThenWorkerThenDefaultLimits() {
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Boom", (a, c) -> {
                    throw new IllegalStateException("x");
                })
                .register(
                        "Limited",
                        (a, c) -> {
                            throw new IllegalStateException("y");
                        },
                        WorkerOptions.custom()
                                .maxRetries(1)
                                .retryPolicy(RetryPolicy.fixed(Duration.ofSeconds(2)))
                                .build())
                .build();
        ExecutionCore core = core(reg);
        // Default 25: the 25th retry's failure (retry_count 24 -> 25) is dead.
        Job at24 = Job.builder("Boom").retryCount(23).build();
        assertInstanceOf(Outcome.Retry.class, core.execute(at24, Backend.REDIS));
        Job at25 = Job.builder("Boom").retryCount(24).build();
        assertInstanceOf(Outcome.Dead.class, core.execute(at25, Backend.REDIS));
        // Sidekiq: retry: false discards the job, retry: 0 sends it straight to dead.
        assertInstanceOf(
                Outcome.Discarded.class,
                core.execute(Job.builder("Boom").retry(false).build(), Backend.REDIS));
        assertInstanceOf(
                Outcome.Dead.class, core.execute(Job.builder("Boom").retry(0).build(), Backend.REDIS));
        // Worker option: one retry, fixed delay.
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, core.execute(Job.of("Limited"), Backend.REDIS));
        assertEquals(NOW.plusSeconds(2), r.dueAt());
        assertInstanceOf(Outcome.Dead.class, core.execute(r.job(), Backend.REDIS));
        // The job's own retry count beats the worker's.
        assertInstanceOf(
                Outcome.Retry.class,
                core.execute(Job.builder("Limited").retry(5).retryCount(2).build(), Backend.REDIS));
    }

    @Test
    void unknownWorkerFollowsTheJobsRetryPolicyAndNothingIsLoaded() {
        ExecutionCore core = core(WorkerRegistry.builder().build());
        Outcome.Retry r =
                assertInstanceOf(Outcome.Retry.class, core.execute(Job.of("java.lang.Runtime"), Backend.REDIS));
        assertTrue(r.job().errorMessage().contains("no worker registered for class 'java.lang.Runtime'"));
        assertEquals(0, r.job().retryCount());
        assertInstanceOf(
                Outcome.Dead.class,
                core.execute(Job.builder("RubyOnly").retry(0).build(), Backend.REDIS));
        assertInstanceOf(
                Outcome.Discarded.class,
                core.execute(Job.builder("RubyOnly").retry(false).build(), Backend.REDIS));
    }

    @Test
    void aBacktraceIsStoredAsSidekiqStoresIt() throws Exception {
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Boom", (a, c) -> {
                    throw new IllegalStateException("x");
                })
                .build();
        Job job = Job.builder("Boom").extra("backtrace", IntNode.valueOf(3)).build();
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, core(reg).execute(job, Backend.REDIS));
        List<String> lines =
                Backtraces.decompress(r.job().extra().get("error_backtrace").textValue());
        assertEquals(3, lines.size());
        assertTrue(lines.get(0).contains("ExecutionCoreTest"), lines.toString());
        Outcome.Retry none = assertInstanceOf(Outcome.Retry.class, core(reg).execute(Job.of("Boom"), Backend.REDIS));
        assertTrue(!none.job().extra().containsKey("error_backtrace"), "no backtrace unless the job asks for one");
    }

    @Test
    void sidekiqRetryOptionsDeadFalseRetryQueueAndRetryFor() {
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Boom", (a, c) -> {
                    throw new IllegalStateException("x");
                })
                .build();
        ExecutionCore core = core(reg);
        // dead: false discards a job whose retries are spent instead of keeping it in the dead set.
        Job spent = Job.builder("Boom")
                .retry(2)
                .retryCount(1)
                .extra("dead", BooleanNode.FALSE)
                .build();
        assertInstanceOf(Outcome.Discarded.class, core.execute(spent, Backend.REDIS));
        // retry_queue: the retry runs on that queue.
        Job routed = Job.builder("Boom")
                .queue("default")
                .extra("retry_queue", TextNode.valueOf("slow"))
                .build();
        assertEquals(
                "slow",
                assertInstanceOf(Outcome.Retry.class, core.execute(routed, Backend.REDIS))
                        .job()
                        .queue());
        // retry_for: once the window since the first failure is spent, the job is dead whatever its count.
        Job old = Job.builder("Boom")
                .retryCount(0)
                .failedAt(NOW.minusSeconds(3_600))
                .extra("retry_for", IntNode.valueOf(600))
                .build();
        assertInstanceOf(Outcome.Dead.class, core.execute(old, Backend.REDIS));
        Job fresh = Job.builder("Boom")
                .retryCount(0)
                .failedAt(NOW.minusSeconds(60))
                .extra("retry_for", IntNode.valueOf(600))
                .build();
        assertInstanceOf(Outcome.Retry.class, core.execute(fresh, Backend.REDIS));
        // With retry_for, the retry count does not end retries (Sidekiq 8: the two exclude each other).
        Job many = fresh.toBuilder().retry(1).retryCount(5).build();
        assertInstanceOf(Outcome.Retry.class, core.execute(many, Backend.REDIS));
    }

    @Test
    void malformedBytesBecomeADeadEnvelopeCarryingThem() {
        Outcome.Dead d = assertInstanceOf(
                Outcome.Dead.class,
                core(WorkerRegistry.builder().build())
                        .execute("garbage".getBytes(StandardCharsets.UTF_8), Backend.KAFKA, "critical"));
        assertEquals(ExecutionCore.INVALID_PAYLOAD_CLASS, d.job().className());
        assertEquals("critical", d.job().queue());
        assertEquals("garbage", d.job().args().get(0).textValue());
        assertTrue(d.job().errorMessage().contains("not valid JSON"));
    }

    @Test
    void shadowCopiesRunOnlyShadowSafeWorkersAndNeverRetry() {
        AtomicBoolean unsafeRan = new AtomicBoolean();
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Unsafe", (a, c) -> unsafeRan.set(true))
                .register(
                        "Pure",
                        (a, c) -> c.result(c.shadow()),
                        WorkerOptions.custom().shadowSafe(true).build())
                .register(
                        "PureBoom",
                        (a, c) -> {
                            throw new IllegalStateException("shadow failure");
                        },
                        WorkerOptions.custom().shadowSafe(true).build())
                .build();
        ExecutionCore core = core(reg);
        Outcome.Succeeded skipped = assertInstanceOf(
                Outcome.Succeeded.class,
                core.execute(Job.builder("Unsafe").shadow(true).build(), Backend.KAFKA));
        assertFalse(skipped.ran());
        assertFalse(unsafeRan.get(), "a shadow copy must not run a worker that is not shadow-safe");
        Outcome.Succeeded ran = assertInstanceOf(
                Outcome.Succeeded.class,
                core.execute(Job.builder("Pure").shadow(true).build(), Backend.KAFKA));
        assertEquals(true, ran.result());
        assertInstanceOf(
                Outcome.Discarded.class,
                core.execute(Job.builder("PureBoom").shadow(true).build(), Backend.KAFKA));
    }

    @Test
    void listenerSeesEveryOutcomeAndItsFailuresAreContained() {
        List<String> events = new ArrayList<>();
        ExecutionListener recording = new ExecutionListener() {
            @Override
            public void started(Job job, Backend backend, Instant startedAt) {
                events.add("start " + job.className());
            }

            @Override
            public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
                events.add(outcome.getClass().getSimpleName() + " " + job.className());
            }
        };
        ExecutionListener broken = new ExecutionListener() {
            @Override
            public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
                throw new IllegalStateException("listener bug");
            }
        };
        WorkerRegistry reg =
                WorkerRegistry.builder().register("Ok", (a, c) -> {}).build();
        ExecutionCore core = ExecutionCore.builder(reg)
                .clock(clock)
                .listener(ExecutionListener.all(recording, broken))
                .build();
        assertInstanceOf(Outcome.Succeeded.class, core.execute(Job.of("Ok"), Backend.REDIS));
        core.execute(Job.of("Missing"), Backend.REDIS);
        assertEquals(List.of("start Ok", "Succeeded Ok", "Retry Missing"), events);
    }

    @Test
    void errorsThatAreNotExceptionsAreCaughtToo() {
        WorkerRegistry reg = WorkerRegistry.builder()
                .register("Deep", (a, c) -> {
                    throw new StackOverflowError("too deep");
                })
                .build();
        Outcome.Retry r = assertInstanceOf(Outcome.Retry.class, core(reg).execute(Job.of("Deep"), Backend.REDIS));
        assertEquals("java.lang.StackOverflowError", r.job().errorClass());
    }

    @Test
    void runGuardSkipsFinishedCopiesDefersRunningOnesAndIgnoresShadows() {
        java.util.Map<String, RunGuard.Claim> answers = new java.util.HashMap<>();
        List<String> released = new ArrayList<>();
        RunGuard guard = new RunGuard() {
            @Override
            public Claim claim(Job job) {
                return answers.getOrDefault(job.jid(), Claim.RUN);
            }

            @Override
            public void finished(Job job, boolean succeeded) {
                released.add(job.jid() + ":" + succeeded);
            }
        };
        List<String> ran = new ArrayList<>();
        WorkerRegistry reg = WorkerRegistry.builder()
                .register(
                        "W",
                        (a, c) -> ran.add(c.jid()),
                        WorkerOptions.custom().shadowSafe(true).build())
                .build();
        ExecutionCore core =
                ExecutionCore.builder(reg).clock(clock).guard(guard).build();
        Job done = Job.builder("W").jid("done").build();
        Job busy = Job.builder("W").jid("busy").build();
        answers.put("done", RunGuard.Claim.ALREADY_DONE);
        answers.put("busy", RunGuard.Claim.IN_PROGRESS);
        answers.put("shadow", RunGuard.Claim.ALREADY_DONE);

        Outcome.Succeeded skipped = assertInstanceOf(Outcome.Succeeded.class, core.execute(done, Backend.KAFKA));
        assertFalse(skipped.ran());
        Outcome.Retry deferred = assertInstanceOf(Outcome.Retry.class, core.execute(busy, Backend.KAFKA));
        assertEquals(busy, deferred.job(), "a deferred copy keeps its retry count");
        assertEquals(NOW.plusSeconds(30), deferred.dueAt());
        core.execute(Job.builder("W").jid("fresh").build(), Backend.REDIS);
        core.execute(Job.builder("W").jid("shadow").shadow(true).build(), Backend.REDIS);
        assertEquals(List.of("fresh", "shadow"), ran, "shadow copies are not guarded");
        assertEquals(List.of("fresh:true"), released);
    }
}
