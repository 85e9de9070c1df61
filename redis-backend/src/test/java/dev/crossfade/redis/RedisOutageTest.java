package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.TestNamespace;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;

/**
 * Liveness across a Redis outage longer than the heartbeat TTL: every liveness key expires meanwhile, yet no process
 * that is alive is recovered (so none of its jobs runs twice), while the leftovers of processes that really are gone
 * are recovered and run once. Runs its own Redis, stopped and started on the same port and data.
 */
class RedisOutageTest {
    private static final Duration TTL = Duration.ofSeconds(5);
    private static final String QUEUE = "slow";

    @Test
    void anOutageLongerThanTheTtlRecoversTheDeadButNoLiveProcess() throws Exception {
        try (LocalRedis redis =
                LocalRedis.builder().appendOnly(true).fsyncAlways(true).build().start()) {
            String ns = TestNamespace.random("outage").value();
            SimpleMeterRegistry metersA = new SimpleMeterRegistry();
            SimpleMeterRegistry metersB = new SimpleMeterRegistry();
            Map<String, AtomicInteger> starts = new ConcurrentHashMap<>();
            try (RedisBackend a = RedisBackend.create(config(redis, ns, metersA, Duration.ofMillis(250)));
                    RedisBackend b = RedisBackend.create(config(redis, ns, metersB, Duration.ofMillis(2_400)))) {
                // Left by processes that are gone: one SIGKILLed just now (still registered, its liveness key about
                // to expire), one whose registration is gone altogether (only its list is left).
                List<String> leftovers = new ArrayList<>();
                String ghost = "ghost-host:4242:0123456789ab";
                UnifiedJedis raw = a.redis();
                List<?> time = (List<?>) raw.eval("return redis.call('TIME')");
                raw.zadd(a.key("crossfade:beats"), Double.parseDouble(time.get(0) + "." + time.get(1)), ghost);
                raw.hset(a.key("crossfade:fetch-queues"), ghost, "[\"" + QUEUE + "\"]");
                raw.psetex(a.key("crossfade:alive:" + ghost), TTL.toMillis(), "1");
                leftovers.addAll(plant(a, "crossfade:inprogress:" + ghost + "|" + QUEUE, 3));
                leftovers.addAll(plant(a, "crossfade:inprogress:orphan-host:77:ba9876543210|" + QUEUE, 3));

                try (RedisWorkerRuntime pa = a.workers(core(starts), List.of(QUEUE), 2);
                        RedisWorkerRuntime pb = b.workers(core(starts), List.of(QUEUE), 2)) {
                    pa.start();
                    pb.start();
                    List<String> jobs = new ArrayList<>();
                    for (int i = 0; i < 16; i++) {
                        jobs.add(a.queue()
                                .enqueue(Job.builder("Slow")
                                        .args(2_000)
                                        .queue(QUEUE)
                                        .build()));
                    }
                    await().atMost(Duration.ofSeconds(20)).until(() -> inProgress(a, pa) > 0 && inProgress(a, pb) > 0);

                    redis.stop();
                    Thread.sleep(TTL.toMillis() + 3_000);
                    redis.start();

                    List<String> all = new ArrayList<>(jobs);
                    all.addAll(leftovers);
                    await().atMost(Duration.ofSeconds(90))
                            .ignoreExceptions()
                            .until(() -> starts.keySet().containsAll(all)
                                    && inProgressLists(a).isEmpty()
                                    && a.redis().llen(a.key("queue:" + QUEUE)) == 0);

                    Map<String, Integer> twice = new HashMap<>();
                    starts.forEach((jid, n) -> {
                        if (n.get() != 1) {
                            twice.put(jid, n.get());
                        }
                    });
                    assertEquals(Map.of(), twice, "no job ran twice: neither live process was recovered");
                    assertEquals(all.size(), starts.size());
                    assertEquals(
                            6.0, recovered(metersA) + recovered(metersB), "exactly the six leftovers were recovered");
                    assertNotNull(a.redis().zscore(a.key("crossfade:beats"), pa.identity()), "A is still registered");
                    assertNotNull(a.redis().zscore(a.key("crossfade:beats"), pb.identity()), "B is still registered");
                    assertEquals(null, a.redis().zscore(a.key("crossfade:beats"), ghost), "the ghost is forgotten");
                }
            }
        }
    }

    /**
     * A process frozen for longer than the TTL while Redis stays up (a long GC pause, a suspended VM: here a child JVM
     * under SIGSTOP) is recovered by a peer, which runs its jobs. Thawed, it must neither fetch nor start the jobs it
     * had fetched before the freeze: its first beat finds its registration gone and drops them. Only the job it was
     * running when frozen may run twice; that one is at-least-once by nature.
     */
    @Test
    void aFrozenProcessThatWasRecoveredDropsTheJobsItHadNotStarted() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().build().start()) {
            String ns = TestNamespace.random("frozen").value();
            try (RedisBackend backend =
                    RedisBackend.create(TestConfigs.fast(redis.uri(), ns).build())) {
                List<Job> batch = new ArrayList<>();
                for (int i = 0; i < 30; i++) {
                    batch.add(Job.builder(CountingWorkers.COUNTED).args(300L).build());
                }
                List<String> jids = backend.queue().enqueueAll(batch);
                String runs = CountingWorkers.runsKey(backend);
                try (ChildJvm child = ChildJvm.builder(KillableWorkerMain.class)
                        .heap("256m")
                        .args(redis.uri().toString(), ns, "default", "1", "3")
                        .start()) {
                    String identity = child.awaitReady(Duration.ofSeconds(30));
                    String list = backend.key("crossfade:inprogress:" + identity + "|default");
                    await().atMost(Duration.ofSeconds(30))
                            .until(() -> backend.redis().hlen(runs) >= 2
                                    && backend.redis().llen(list) >= 5);
                    child.freeze();
                    long heldAtFreeze = backend.redis().llen(list);
                    try (RedisWorkerRuntime peer = backend.workers(
                            ExecutionCore.builder(CountingWorkers.registry(backend))
                                    .build(),
                            List.of("default"),
                            4)) {
                        peer.start();
                        await().atMost(Duration.ofSeconds(60))
                                .until(() -> backend.redis().hkeys(runs).containsAll(jids));
                        child.thaw();
                        await().atMost(Duration.ofSeconds(20))
                                .until(() -> backend.redis().zscore(backend.key("crossfade:beats"), identity) != null);
                        Thread.sleep(2_000); // time for the thawed child to run anything it wrongly kept
                    }
                    Map<String, String> counts = backend.redis().hgetAll(runs);
                    long twice =
                            counts.values().stream().filter(n -> !n.equals("1")).count();
                    assertEquals(jids.size(), counts.size(), "every job ran");
                    assertTrue(
                            twice <= 1,
                            "at most the job running at the freeze ran twice, not the " + heldAtFreeze
                                    + " the child held: " + counts + "\n" + child.output());
                    assertTrue(child.output().contains("dropped"), child.output());
                }
            }
        }
    }

    /** Heartbeat intervals differ, so that after the outage one process beats well before the other. */
    private static RedisBackendConfig config(
            LocalRedis redis, String ns, SimpleMeterRegistry meters, Duration heartbeat) {
        return TestConfigs.fast(redis.uri(), ns)
                .recoveryTimeout(TTL)
                .heartbeatInterval(heartbeat)
                .fetchBatchSize(1)
                .meterRegistry(meters)
                .build();
    }

    private static ExecutionCore core(Map<String, AtomicInteger> starts) {
        return ExecutionCore.builder(WorkerRegistry.builder()
                        .register("Slow", (args, ctx) -> {
                            starts.computeIfAbsent(ctx.jid(), k -> new AtomicInteger())
                                    .incrementAndGet();
                            Thread.sleep(args.get(0, Long.class));
                        })
                        .build())
                .build();
    }

    private static List<String> plant(RedisBackend backend, String listKey, int n) {
        List<String> jids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Job job = Job.builder("Slow").args(10).queue(QUEUE).build();
            backend.redis()
                    .lpush(
                            backend.key(listKey).getBytes(StandardCharsets.UTF_8),
                            JobCodec.defaults().encodeEnqueued(job, Instant.now()));
            jids.add(job.jid());
        }
        return jids;
    }

    private static long inProgress(RedisBackend backend, RedisWorkerRuntime runtime) {
        return backend.redis().llen(backend.key("crossfade:inprogress:" + runtime.identity() + "|" + QUEUE));
    }

    private static List<String> inProgressLists(RedisBackend backend) {
        ScanParams match =
                new ScanParams().match(backend.key("crossfade:inprogress:*")).count(1_000);
        List<String> lists = new ArrayList<>();
        String cursor = ScanParams.SCAN_POINTER_START;
        do {
            var page = backend.redis().scan(cursor, match);
            lists.addAll(page.getResult());
            cursor = page.getCursor();
        } while (!ScanParams.SCAN_POINTER_START.equals(cursor));
        return lists;
    }

    private static double recovered(SimpleMeterRegistry meters) {
        return meters.find("crossfade.redis.jobs.recovered").counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }
}
