package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.kafka.internal.KafkaRunner;
import dev.crossfade.tck.Ledger;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Broker restart, members joining and leaving, and the DLQ as seen by kcat. */
@ExtendWith(CrossfadeServices.class)
class KafkaFaultTest {

    private static String prefix(TestNamespace ns) {
        return ns.value();
    }

    /**
     * A private broker (this test kills it) is SIGKILLed and restarted while jobs are being enqueued and run: every
     * job enqueued with an ack, and a scheduled job, still run.
     */
    @Test
    void brokerRestartMidRunLosesNothing(TestNamespace ns) {
        try (LocalKafka broker = LocalKafka.builder().build().start();
                KafkaBackend backend = KafkaBackend.create(
                        FaultTestSupport.config(broker.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                                .build())) {
            Ledger runs = new Ledger();
            WorkerRuntime workers = FaultTestSupport.countingWorkers(backend, runs, 5);
            try {
                List<String> jids = new ArrayList<>();
                List<Job> first = new ArrayList<>();
                for (int i = 0; i < 300; i++) {
                    first.add(Job.of("CountingWorker", i));
                }
                jids.addAll(backend.queue().enqueueAll(first));
                jids.add(backend.queue()
                        .enqueueAt(
                                Job.of("CountingWorker", "scheduled"),
                                Instant.now().plusSeconds(3)));
                await().atMost(Duration.ofSeconds(30)).until(() -> runs.completedCount(jids) >= 50);

                broker.kill();
                broker.start();

                List<Job> second = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    second.add(Job.of("CountingWorker", "after-" + i));
                }
                jids.addAll(backend.queue().enqueueAll(second));
                await().atMost(Duration.ofSeconds(90)).until(() -> runs.completedAll(jids));
                assertEquals(List.of(), runs.missing(jids));
                System.out.println(
                        "broker restart: duplicates " + runs.duplicates().size() + " of " + jids.size());
            } finally {
                workers.stop(Duration.ofSeconds(10));
            }
        }
    }

    /**
     * A stop keeps to its timeout when the broker is gone (a private broker, SIGKILLed): the final commits and closes
     * get what is left of the timeout, and at least a second each, where the final commit alone used to wait 15 s.
     */
    @Test
    void workersStopWithinTheirTimeoutWhenTheBrokerIsGone(TestNamespace ns) {
        Duration timeout = Duration.ofSeconds(3);
        try (LocalKafka broker = LocalKafka.builder().build().start();
                KafkaBackend backend = KafkaBackend.create(
                        FaultTestSupport.config(broker.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                                .build())) {
            Ledger runs = new Ledger();
            WorkerRuntime workers = FaultTestSupport.countingWorkers(backend, runs, 0);
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                jobs.add(Job.of("CountingWorker", i));
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            await().atMost(Duration.ofSeconds(30)).until(() -> runs.completedAll(jids));

            broker.kill();
            long start = System.nanoTime();
            workers.stop(timeout);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(
                    took.compareTo(timeout.plusSeconds(5)) < 0,
                    "stop(" + timeout + ") took " + took + " with the broker gone");
        }
    }

    /**
     * A share-mode stop keeps to its timeout when the broker hangs (a private broker, SIGSTOPped) while a batch runs:
     * the batch finishes, then its final acknowledgement commit and the close get what is left of the timeout (at
     * least a second each), so every poll loop has ended when {@code stop} returns. With the client's own limits (10 s
     * for the commit, 5 s for the close) a loop would still be waiting on the broker. (A killed broker refuses
     * connections, and the share client then gives up at once: only a hung one tests the bound.)
     */
    @Test
    void shareWorkersStopWithinTheirTimeoutWhenTheBrokerHangs(TestNamespace ns) {
        Duration timeout = Duration.ofSeconds(2);
        try (LocalKafka broker = LocalKafka.builder().build().start();
                KafkaBackend backend = KafkaBackend.create(
                        FaultTestSupport.config(broker.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.SHARE)
                                .build())) {
            Ledger runs = new Ledger();
            WorkerRuntime workers = FaultTestSupport.countingWorkers(backend, runs, 800);
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                jobs.add(Job.of("CountingWorker", i));
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> jids.stream().allMatch(j -> !runs.starts(j).isEmpty()));

            broker.pause();
            try {
                long start = System.nanoTime();
                boolean stopped = workers.stop(timeout);
                Duration took = Duration.ofNanos(System.nanoTime() - start);
                assertTrue(runs.completedAll(jids), "the acquired batch finished: " + runs.missing(jids));
                assertTrue(
                        stopped,
                        "stop(" + timeout + ") left a poll loop waiting on the hung broker (took " + took + ")");
                // stop's own bound: the timeout, then a second each for the last commit and the close, and one more
                // for the loop to notice (KafkaRunner.LAST_WORD); a loop still alive then fails the check above.
                assertTrue(
                        took.compareTo(timeout.plus(KafkaRunner.LAST_WORD.multipliedBy(3))
                                        .plusMillis(500))
                                < 0,
                        "stop(" + timeout + ") took " + took + " with the broker hung");
            } finally {
                broker.resume();
            }
        }
    }

    /**
     * {@code enqueueAll(jobs, limit)} keeps to its limit when the broker hangs (a private broker, SIGSTOPped): a batch,
     * which the call flushes on its own thread, a single job, and a job for a queue whose topics were never checked
     * all fail with a timeout about the limit after the call, where the backend's own enqueue timeout (60 s here) would
     * hold an {@code enqueueAll} for a minute. Once the broker thaws, calls succeed again.
     */
    @Test
    void aCallWithATimeLimitKeepsToItWhenTheBrokerHangs(TestNamespace ns) {
        Duration limit = Duration.ofSeconds(2);
        try (LocalKafka broker = LocalKafka.builder().build().start();
                KafkaBackend backend = KafkaBackend.create(
                        FaultTestSupport.config(broker.bootstrapServers(), prefix(ns), KafkaBackendConfig.Mode.GROUP)
                                .enqueueTimeout(Duration.ofSeconds(60))
                                .build())) {
            KafkaJobQueue queue = backend.queue();
            queue.enqueueAll(batchOf("warm", 10)); // creates the topic
            assertEquals(10, queue.enqueueAll(batchOf("before", 10), limit).size());
            assertEquals(1, queue.enqueueAll(batchOf("single-before", 1), limit).size());

            broker.pause();
            try {
                for (int size : new int[] {10, 1}) {
                    long t0 = System.nanoTime();
                    EnqueueTimeoutException e = assertTimeoutPreemptively(
                            Duration.ofSeconds(20),
                            () -> assertThrows(
                                    EnqueueTimeoutException.class,
                                    () -> queue.enqueueAll(batchOf("hung-" + size, size), limit)));
                    Duration took = Duration.ofNanos(System.nanoTime() - t0);
                    assertTrue(
                            took.compareTo(limit.plusSeconds(1)) < 0,
                            size + " job(s): the call took " + took + " (" + e.getMessage() + ")");
                }
                // A queue not used before: its topics must be checked, which Admin cannot answer now.
                long t0 = System.nanoTime();
                EnqueueTimeoutException e = assertTimeoutPreemptively(
                        Duration.ofSeconds(20),
                        () -> assertThrows(
                                EnqueueTimeoutException.class,
                                () -> queue.enqueueAll(
                                        List.of(Job.builder("CountingWorker")
                                                .queue("fresh")
                                                .args(1)
                                                .build()),
                                        limit)));
                Duration took = Duration.ofNanos(System.nanoTime() - t0);
                assertTrue(
                        took.compareTo(limit.plusSeconds(1)) < 0,
                        "a new queue: the call took " + took + " (" + e.getMessage() + ")");
            } finally {
                broker.resume();
            }
            await().atMost(Duration.ofSeconds(60))
                    .ignoreExceptions()
                    .until(() -> queue.enqueueAll(batchOf("after", 10), limit).size() == 10);
        }
    }

    private static List<Job> batchOf(String name, int size) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            jobs.add(Job.of("CountingWorker", name + "-" + i));
        }
        return jobs;
    }

    /**
     * Members join and leave while jobs run: none is lost, and no job runs twice because of a graceful change.
     *
     * <p>Sequence: a runs alone; b joins; c joins; b leaves gracefully (a 10 s stop); a leaves in a hurry (a 20 ms
     * stop, jobs in flight). A fresh batch of jobs is enqueued before each change. Every run is recorded with its
     * member, and each duplicate is attributed to the membership change after which it ran again, so a failure names
     * its cause.
     *
     * <p>Bounds. A graceful change (a revoke on join, a stop with time to spare) waits for the running jobs of the
     * moved partitions (jobs take 10 ms; revokeTimeout and the stop allow seconds) and commits synchronously before
     * the partitions are released, and a share consumer releases only records it did not start: such changes run no
     * job twice, so the bound is 0. The hurried stop may leave jobs running past its deadline; they stay
     * uncommitted/unacknowledged and run again: at most one per worker thread of that member ({@value #THREADS}).
     *
     * <p>{@code commitInterval(0)} commits on every poll-loop turn: a new owner that committed an offset of its own
     * before its first fetch (rolling the group back) is then caught at every handover, not by chance.
     */
    @ParameterizedTest
    @EnumSource(KafkaBackendConfig.Mode.class)
    void membersJoiningAndLeavingLoseNothing(KafkaBackendConfig.Mode mode, KafkaService kafka, TestNamespace ns) {
        try (KafkaBackend backend = KafkaBackend.create(FaultTestSupport.config(
                        kafka.bootstrapServers(), prefix(ns), mode)
                .commitInterval(Duration.ZERO)
                .maxPollRecords(100)
                // No rerun after a graceful change holds for one chain per partition: with KEY (the default) or NONE,
                // jobs finished past a queued one that the revoke left unstarted run again (at-least-once).
                .ordering(KafkaBackendConfig.Ordering.PARTITION)
                .build())) {
            Membership log = new Membership();
            List<String> jids = new ArrayList<>();
            Map<String, WorkerRuntime> members = new LinkedHashMap<>();
            try {
                // A fresh batch before each change, so every change happens with jobs queued and running whatever
                // the throughput (share mode runs far faster than group mode's one chain per partition).
                jids.addAll(batch(backend, 400));
                log.event("a starts");
                members.put("a", member(backend, log, "a"));
                await().atMost(Duration.ofSeconds(30)).until(() -> log.ranBy("a") >= 50);
                jids.addAll(batch(backend, 400));
                log.event("b joins");
                members.put("b", member(backend, log, "b"));
                untilRuns(backend, log, jids, "b");
                jids.addAll(batch(backend, 400));
                log.event("c joins");
                members.put("c", member(backend, log, "c"));
                untilRuns(backend, log, jids, "c");
                jids.addAll(batch(backend, 400));
                log.event("b leaves (graceful)");
                assertTrue(members.get("b").stop(Duration.ofSeconds(10)), "b stopped with every job finished");
                jids.addAll(batch(backend, 400));
                log.event(HURRIED);
                members.get("a").stop(Duration.ofMillis(20));
                await().atMost(Duration.ofSeconds(60)).until(() -> log.all(jids));
                assertEquals(List.of(), log.missing(jids));

                Map<String, List<String>> causes = log.duplicatesByCause();
                Map<String, Integer> counts = new TreeMap<>();
                causes.forEach((k, v) -> counts.put(k, v.size()));
                System.out.printf(
                        "%s join/leave: %d runs of %d jobs; duplicates by cause: %s%n",
                        mode, log.size(), jids.size(), counts.isEmpty() ? "none" : counts);
                // Listed per cause with their jids when the test fails.
                String hurriedCause = HURRIED + ": a -> ";
                Map<String, List<String>> graceful = new TreeMap<>(causes);
                graceful.keySet().removeIf(k -> k.startsWith(hurriedCause));
                assertEquals(Map.of(), graceful, "jobs run twice after graceful membership changes; counts: " + counts);
                long hurried = causes.entrySet().stream()
                        .filter(e -> e.getKey().startsWith(hurriedCause))
                        .mapToInt(e -> e.getValue().size())
                        .sum();
                assertTrue(
                        hurried <= THREADS,
                        "more duplicates after the hurried stop than a had jobs in flight: " + counts);
            } finally {
                members.values().forEach(m -> m.stop(Duration.ofSeconds(5)));
            }
        }
    }

    private static final String HURRIED = "a leaves (hurried: 20 ms stop)";
    private static final int THREADS = 4;

    /**
     * Waits until a new member has run some jobs. In share mode the members already there may have acquired every
     * queued record before the newcomer's first fetch, so more jobs are fed until it gets some.
     */
    private static void untilRuns(KafkaBackend backend, Membership log, List<String> jids, String member) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (log.ranBy(member) < 20) {
            assertTrue(System.nanoTime() < deadline, member + " ran no job within 60 s of joining");
            jids.addAll(batch(backend, 100));
            await().atMost(Duration.ofSeconds(3)).until(() -> log.ranBy(member) >= 20 || log.all(jids));
        }
    }

    private static List<String> batch(KafkaBackend backend, int n) {
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            jobs.add(Job.builder("CountingWorker")
                    .args(i)
                    .routingKey("acct-" + (i % 50))
                    .build());
        }
        return backend.queue().enqueueAll(jobs);
    }

    private static WorkerRuntime member(KafkaBackend backend, Membership log, String member) {
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("CountingWorker", (args, ctx) -> {
                    Thread.sleep(10);
                    log.ran(ctx.jid(), member);
                })
                .build();
        WorkerRuntime r = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), THREADS);
        r.start();
        return r;
    }

    /** Runs (jid, member, order) and membership changes on one timeline, to name the cause of each duplicate. */
    private static final class Membership {
        private record Run(String member, int event) {}

        private final List<String> events = new CopyOnWriteArrayList<>();
        private final Map<String, List<Run>> runs = new ConcurrentHashMap<>();
        private final Map<String, AtomicInteger> perMember = new ConcurrentHashMap<>();
        private final AtomicInteger total = new AtomicInteger();

        synchronized void event(String name) {
            events.add(name);
        }

        void ran(String jid, String member) {
            int event;
            synchronized (this) {
                event = events.size() - 1;
            }
            runs.computeIfAbsent(jid, k -> new CopyOnWriteArrayList<>()).add(new Run(member, event));
            perMember.computeIfAbsent(member, k -> new AtomicInteger()).incrementAndGet();
            total.incrementAndGet();
        }

        int ranBy(String member) {
            AtomicInteger n = perMember.get(member);
            return n == null ? 0 : n.get();
        }

        int size() {
            return total.get();
        }

        long count(Collection<String> jids) {
            return jids.stream().filter(runs::containsKey).count();
        }

        boolean all(Collection<String> jids) {
            return jids.stream().allMatch(runs::containsKey);
        }

        List<String> missing(Collection<String> jids) {
            return jids.stream().filter(j -> !runs.containsKey(j)).toList();
        }

        /**
         * The jids of extra runs, keyed by cause: the last membership change before the extra run (the one that moved
         * the job) and which member ran it first and which again, as {@code "<change>: a -> c"}.
         */
        Map<String, List<String>> duplicatesByCause() {
            Map<String, List<String>> out = new TreeMap<>();
            runs.forEach((jid, rs) -> {
                for (int i = 1; i < rs.size(); i++) {
                    String cause = events.get(rs.get(i).event()) + ": "
                            + rs.get(0).member() + " -> " + rs.get(i).member();
                    out.computeIfAbsent(cause, k -> new ArrayList<>()).add(jid);
                }
            });
            return out;
        }
    }

    /** A dead job's DLQ record carries its headers, readable by kcat. */
    @Test
    void dlqRecordCarriesHeadersReadableWithKcat(KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = prefix(ns);
        try (KafkaBackend backend = KafkaBackend.create(
                FaultTestSupport.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("DoomedWorker", (a, ctx) -> {
                        throw new IllegalStateException("boom: no retry");
                    })
                    .build();
            String jid = backend.queue()
                    .enqueue(Job.builder("DoomedWorker").args(1).retry(0).build());
            WorkerRuntime w = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 1);
            w.start();
            try {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> !backend.admin().deadLetters("default", 10).isEmpty());
            } finally {
                w.stop(Duration.ofSeconds(5));
            }
            DeadLetter d = backend.admin().deadLetters("default", 10).get(0);
            assertEquals(jid, d.job().jid());
            assertEquals(prefix + ".default", d.headers().get("source-topic"));
            assertEquals("java.lang.IllegalStateException", d.headers().get("error-class"));

            String topic = prefix + ".default.dlq";
            Process kcat;
            try {
                kcat = new ProcessBuilder(
                                "kcat",
                                "-b",
                                kafka.bootstrapServers(),
                                "-C",
                                "-t",
                                topic,
                                "-o",
                                "beginning",
                                "-e",
                                "-q",
                                "-f",
                                "%h\\n")
                        .redirectErrorStream(true)
                        .start();
            } catch (IOException e) {
                fail("kcat is not installed (apt-get install kcat): " + e.getMessage());
                return;
            }
            assertTrue(kcat.waitFor(30, TimeUnit.SECONDS), "kcat finished");
            String out = new String(kcat.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, kcat.exitValue(), "kcat exit code; output: " + out);
            assertTrue(out.contains("source-topic=" + prefix + ".default"), out);
            assertTrue(out.contains("source-partition=" + d.headers().get("source-partition")), out);
            assertTrue(out.contains("error-class=java.lang.IllegalStateException"), out);
            assertTrue(out.contains("error-message=boom: no retry"), out);
            assertTrue(out.contains("attempts=1"), out);
            assertTrue(out.matches("(?s).*crossfade-job=\\d+ " + jid + " DoomedWorker\\b.*"), out);
            assertTrue(out.contains("source-offset=0"), out);
        }
    }
}
