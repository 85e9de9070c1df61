package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.redis.internal.JobRetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reliable fetch against real process death: a worker JVM is SIGKILLed mid-batch and another process recovers its
 * in-progress jobs; a job that kills every process running it ends in the dead set as a poison pill.
 */
@ExtendWith(CrossfadeServices.class)
class WorkerCrashRecoveryTest {

    @Test
    void jobsOfASigkilledWorkerProcessAllRunElsewhere(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                jobs.add(Job.builder(CountingWorkers.COUNTED).args(20L).build());
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            String runs = CountingWorkers.runsKey(backend);

            try (ChildJvm child = ChildJvm.builder(KillableWorkerMain.class)
                    .heap("256m")
                    .args(redis.uri().toString(), ns.value(), "default", "4", "3")
                    .start()) {
                String childIdentity = child.awaitReady(Duration.ofSeconds(30));
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> backend.redis().hlen(runs) >= 20);
                child.kill();
                long inProgress = inProgressOf(backend, childIdentity);
                assertTrue(inProgress > 0, "the child was killed holding in-progress jobs (else this proves nothing)");
                assertTrue(backend.redis().hlen(runs) < jids.size(), "the child was killed mid-batch");

                ExecutionCore core =
                        ExecutionCore.builder(CountingWorkers.registry(backend)).build();
                try (RedisWorkerRuntime survivor = backend.workers(core, List.of("default"), 4)) {
                    survivor.start();
                    await().atMost(Duration.ofSeconds(60))
                            .until(() -> backend.redis().hkeys(runs).containsAll(jids));
                    await().atMost(Duration.ofSeconds(10)).until(() -> inProgressOf(backend, childIdentity) == 0);
                    assertEquals(
                            0,
                            backend.redis().zrank(backend.key("crossfade:beats"), childIdentity) == null ? 0 : 1,
                            "the dead process is forgotten once recovered");
                }
                Map<String, String> counts = backend.redis().hgetAll(runs);
                Map<String, String> duplicates = counts.entrySet().stream()
                        .filter(e -> !e.getValue().equals("1"))
                        .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
                System.out.println("SIGKILL test: " + inProgress + " job(s) were in progress at the kill; "
                        + duplicates.size() + " job(s) ran more than once (at-least-once): " + duplicates);
                assertEquals(Set.copyOf(jids), counts.keySet(), "every job ran; none lost");
                assertEquals(0, backend.admin().deadSize(), "nothing dead");
            }
        }
    }

    @Test
    void aJobThatKeepsKillingWorkersEndsDeadAsAPoisonPill(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).maxRecoveries(2).build())) {
            String jid = backend.queue()
                    .enqueue(Job.builder(CountingWorkers.KILLER).queue("poison").build());
            // A live process elsewhere (on another queue) does the recovering, as any fleet member would.
            ExecutionCore core = ExecutionCore.builder(CountingWorkers.registry(backend))
                    .retryPolicy(RetryPolicy.fixed(Duration.ofMillis(200)))
                    .build();
            try (RedisWorkerRuntime recoverer = backend.workers(core, List.of("other"), 1)) {
                recoverer.start();
                for (int crash = 1; crash <= 2; crash++) {
                    try (ChildJvm child = ChildJvm.builder(KillableWorkerMain.class)
                            .heap("256m")
                            .args(redis.uri().toString(), ns.value(), "poison", "1", "2")
                            .start()) {
                        assertTrue(
                                child.awaitExit(Duration.ofSeconds(30)),
                                "the killer job halts its worker JVM:\n" + child.output());
                        assertTrue(child.output().contains("KILLER running " + jid), child.output());
                    }
                    if (crash == 1) {
                        await().atMost(Duration.ofSeconds(20))
                                .until(() -> backend.redis().llen(backend.key("queue:poison")) == 1);
                    }
                }
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> backend.admin().deadSize() == 1);
            }
            Job dead = backend.admin().dead(10).get(0);
            assertEquals(jid, dead.jid());
            assertEquals(JobRetry.POISON_PILL_CLASS, dead.errorClass());
            assertTrue(dead.errorMessage().contains("2 recoveries"), dead.errorMessage());
            assertEquals(0, backend.redis().llen(backend.key("queue:poison")), "not requeued a third time");
            assertFalse(backend.redis().hexists(backend.key("crossfade:recoveries"), jid), "count cleared");
        }
    }

    /**
     * The poison counter counts crashes in a row: a job recovered from a dead process that then succeeds starts from
     * zero, so its next crash does not make it a poison pill. A crash is simulated by leaving the job in the list of a
     * registered process that stopped beating long ago, which the running process recovers as it would a SIGKILLed one.
     */
    @Test
    void aJobThatCrashedOnceAndThenSucceededIsNotAPoisonPillAtItsNextCrash(RedisService redis, TestNamespace ns)
            throws Exception {
        try (RedisBackend backend = RedisBackend.create(
                TestConfigs.fast(redis.uri(), ns.value()).maxRecoveries(2).build())) {
            java.util.concurrent.atomic.AtomicInteger runs = new java.util.concurrent.atomic.AtomicInteger();
            ExecutionCore core = ExecutionCore.builder(dev.crossfade.api.worker.WorkerRegistry.builder()
                            .register("Survivor", (args, ctx) -> runs.incrementAndGet())
                            .build())
                    .build();
            Job job = Job.of("Survivor");
            byte[] payload = dev.crossfade.api.codec.JobCodec.defaults().encodeEnqueued(job, java.time.Instant.now());
            String recoveries = backend.key("crossfade:recoveries");
            try (RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1)) {
                workers.start();
                for (int crash = 1; crash <= 2; crash++) {
                    String dead = "crashed-host:" + crash + ":00000000000" + crash;
                    backend.redis().zadd(backend.key("crossfade:beats"), 1.0, dead);
                    backend.redis().hset(backend.key("crossfade:fetch-queues"), dead, "[\"default\"]");
                    backend.redis()
                            .lpush(
                                    backend.key("crossfade:inprogress:" + dead + "|default")
                                            .getBytes(java.nio.charset.StandardCharsets.UTF_8),
                                    payload);
                    int expected = crash;
                    await().atMost(Duration.ofSeconds(20)).until(() -> runs.get() == expected);
                    await().atMost(Duration.ofSeconds(10))
                            .until(() -> !backend.redis().hexists(recoveries, job.jid()));
                }
            }
            assertEquals(2, runs.get(), "recovered and run after each crash");
            assertEquals(0, backend.admin().deadSize(), "not a poison pill: it succeeded between its crashes");
        }
    }

    private static long inProgressOf(RedisBackend backend, String identity) {
        return backend.redis().llen(backend.key("crossfade:inprogress:" + identity + "|default"));
    }
}
