package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.Ledger;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Faults that reach the runtime's threads: an {@link Error} that escapes the execution core still gives its job an
 * outcome (dead, naming the error) without costing the thread; and a thread that dies anyway (here: stopped with
 * {@code Thread.stop}, the one way to kill a thread from outside on Java 17) is replaced by the supervisor, counted, and
 * the process goes on working and beating.
 */
@ExtendWith(CrossfadeServices.class)
class ThreadFaultTest {

    /** An error whose message cannot be read: the core fails while describing it, so the error escapes the core. */
    static final class UnreadableError extends Error {
        @Override
        public String getMessage() {
            throw new StackOverflowError();
        }
    }

    @Test
    void errorsThatEscapeTheExecutionCoreEndTheirJobsDeadAndTheThreadLivesOn(RedisService redis, TestNamespace ns) {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).meterRegistry(meters).build())) {
            Ledger runs = new Ledger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Unreadable", (args, ctx) -> {
                        throw new UnreadableError();
                    })
                    .register("ListenerVictim", (args, ctx) -> {})
                    .register("Good", (args, ctx) -> runs.complete(runs.start(args, ctx)))
                    .build();
            // A listener that throws an Error (not an exception) for one class of job: it escapes the core too.
            ExecutionListener listener = new ExecutionListener() {
                @Override
                public void finished(Job job, Backend b, Outcome outcome, Instant start, Duration took) {
                    if (job.className().equals("ListenerVictim")) {
                        throw new AssertionError("listener broke");
                    }
                }
            };
            ExecutionCore core =
                    ExecutionCore.builder(registry).listener(listener).build();
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1)) {
                workers.start();
                String unreadable = backend.queue().enqueue(Job.of("Unreadable"));
                String victim = backend.queue().enqueue(Job.of("ListenerVictim"));
                List<String> good = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    good.add(backend.queue().enqueue(Job.of("Good", i)));
                }
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> backend.admin().deadSize() == 2 && runs.completedAll(good));

                Job deadUnreadable = dead(backend, unreadable).orElseThrow();
                assertEquals(StackOverflowError.class.getName(), deadUnreadable.errorClass());
                assertTrue(
                        deadUnreadable.errorMessage().contains("escaped the execution core"),
                        deadUnreadable.errorMessage());
                Job deadVictim = dead(backend, victim).orElseThrow();
                assertEquals(AssertionError.class.getName(), deadVictim.errorClass());
                assertTrue(deadVictim.errorMessage().contains("listener broke"), deadVictim.errorMessage());

                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.redis().llen(inProgress) == 0);
                assertEquals(0.0, HostilePayloadTest.replaced(meters), "the worker thread survived both");
                assertEquals(1, HostilePayloadTest.workerThreads(workers));
                assertEquals(0, backend.admin().retrySize());
            }
        }
    }

    /**
     * A worker thread dies: a listener throws {@link ThreadDeath} after a job ran, as an asynchronous stop arriving
     * there would (thrown synchronously, so no lock is left half-taken). The job still ends with an outcome, the thread
     * goes, and a new one takes its place. The heartbeat thread is stopped for real while it sleeps between beats: a
     * new one beats on, so the process never becomes invisible while it fetches.
     */
    @Test
    @SuppressWarnings("deprecation")
    void deadThreadsAreReplacedAndTheProcessKeepsWorkingAndBeating(RedisService redis, TestNamespace ns) {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).meterRegistry(meters).build())) {
            Ledger runs = new Ledger();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Good", (args, ctx) -> runs.complete(runs.start(args, ctx)))
                    .register("Stopped", (args, ctx) -> {})
                    .build();
            ExecutionListener listener = new ExecutionListener() {
                @Override
                public void finished(Job job, Backend b, Outcome outcome, Instant start, Duration took) {
                    if (job.className().equals("Stopped")) {
                        throw new ThreadDeath();
                    }
                }
            };
            try (RedisWorkerRuntime workers = backend.workers(
                    ExecutionCore.builder(registry).listener(listener).build(), List.of("default"), 2)) {
                workers.start();
                String nonce = workers.identity().substring(workers.identity().lastIndexOf(':') + 1);
                String stopped = backend.queue().enqueue(Job.of("Stopped"));
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> meters.find("crossfade.redis.threads.replaced")
                                        .tag("role", "worker")
                                        .counter()
                                != null);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> dead(backend, stopped).isPresent());
                assertEquals(
                        ThreadDeath.class.getName(),
                        dead(backend, stopped).orElseThrow().errorClass());

                Thread heartbeat = thread("crossfade-redis-heartbeat-" + nonce);
                await().atMost(Duration.ofSeconds(10)).until(() -> sleeping(heartbeat));
                try {
                    heartbeat.stop();
                } catch (UnsupportedOperationException e) {
                    assumeTrue(false, "this JVM cannot stop threads (Java 20+)");
                }
                await().atMost(Duration.ofSeconds(10)).until(() -> HostilePayloadTest.replaced(meters) == 2.0);
                assertFalse(heartbeat.isAlive(), "the stopped heartbeat thread died");
                assertEquals(
                        1.0,
                        meters.get("crossfade.redis.threads.replaced")
                                .tag("role", "worker")
                                .counter()
                                .count());
                assertEquals(
                        1.0,
                        meters.get("crossfade.redis.threads.replaced")
                                .tag("role", "heartbeat")
                                .counter()
                                .count());
                assertEquals(
                        2, HostilePayloadTest.workerThreads(workers), "a new worker thread took the dead one's place");

                String processKey = backend.key(workers.identity());
                String beat = backend.redis().hget(processKey, "beat");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> !beat.equals(backend.redis().hget(processKey, "beat")));

                List<String> good = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    good.add(backend.queue().enqueue(Job.of("Good", i)));
                }
                await().atMost(Duration.ofSeconds(20)).until(() -> runs.completedAll(good));
                assertEquals(Map.of(), runs.duplicates());
                String inProgress = backend.key("crossfade:inprogress:" + workers.identity() + "|default");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> backend.redis().llen(inProgress) == 0);
            }
        }
    }

    /** Whether a heartbeat thread is between beats, where stopping it interrupts no Redis command. */
    private static boolean sleeping(Thread t) {
        StackTraceElement[] stack = t.getStackTrace();
        return stack.length > 1
                && stack[0].getMethodName().equals("sleep")
                && stack[0].getClassName().equals(Thread.class.getName());
    }

    private static Thread thread(String name) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no thread named " + name));
    }

    private static Optional<Job> dead(RedisBackend backend, String jid) {
        return backend.admin().dead(100).stream()
                .filter(j -> j.jid().equals(jid))
                .findFirst();
    }
}
