package dev.crossfade.tck;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.PayloadTooLargeException;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionCore.Builder;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;

/**
 * The backend contract: scenarios written once that the in-memory, Redis and Kafka backends (in every consumer mode)
 * must all pass. A backend's test extends this class and supplies {@link #createFixture(String)}.
 *
 * <p>Each test gets its own namespace, so suites can share one Redis and one broker per JVM.
 */
public abstract class JobQueueContract {
    /** Retry delay used by the suite's execution cores, so retry scenarios finish in seconds. */
    protected static final Duration FAST_RETRY = Duration.ofMillis(200);
    /** What an enqueue with a time limit may take beyond it on a frozen server: scheduling and GC on a busy host. */
    private static final Duration FREEZE_SLACK = Duration.ofMillis(1500);

    private BackendFixture fixture;
    private final List<WorkerRuntime> runtimes = new ArrayList<>();
    protected final Ledger ledger = new Ledger();

    /**
     * Creates the fixture for one test.
     *
     * @param namespace unique per test: only {@code [a-z0-9]}, at most 20 characters
     */
    protected abstract BackendFixture createFixture(String namespace);

    /** How long to wait for asynchronous outcomes; brokers may want more. */
    protected Duration timeout() {
        return Duration.ofSeconds(30);
    }

    @BeforeEach
    void openFixture(TestInfo info) {
        String ns = "t" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
        fixture = createFixture(ns);
    }

    @AfterEach
    void closeFixture() {
        for (WorkerRuntime r : runtimes) {
            r.stop(Duration.ofSeconds(5));
        }
        runtimes.clear();
        if (fixture != null) {
            fixture.close();
        }
    }

    protected BackendFixture fixture() {
        return fixture;
    }

    /** A worker that records its runs in the ledger and then does {@code body}. */
    protected Worker recording(Consumer<Ledger.Run> body) {
        return (args, ctx) -> {
            Ledger.Run run = ledger.start(args, ctx);
            assertEquals(fixture.backend(), ctx.backend(), "context names the delivering backend");
            body.accept(run);
            ledger.complete(run);
        };
    }

    protected Worker recording() {
        return recording(run -> {});
    }

    protected ExecutionCore core(WorkerRegistry registry) {
        return coreBuilder(registry).build();
    }

    protected Builder coreBuilder(WorkerRegistry registry) {
        return ExecutionCore.builder(registry).retryPolicy(RetryPolicy.fixed(FAST_RETRY));
    }

    protected WorkerRuntime startWorkers(ExecutionCore core, int concurrency, String... queues) {
        WorkerRuntime r = fixture.workers(core, Set.of(queues), concurrency);
        runtimes.add(r);
        r.start();
        return r;
    }

    private void awaitCompleted(List<String> jids) {
        await().atMost(timeout()).until(() -> ledger.completedAll(jids));
    }

    private Optional<Job> deadJob(String jid) {
        return fixture.dead().stream().filter(j -> j.jid().equals(jid)).findFirst();
    }

    @Test
    void enqueuedJobsRunExactlyOnce() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("HardWorker", recording()).build();
        JobQueue queue = fixture.queue();
        List<String> jids = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            jids.add(queue.enqueue(Job.builder("HardWorker").args(i, "job-" + i).build()));
        }
        WorkerRuntime workers = startWorkers(core(registry), 2, Job.DEFAULT_QUEUE);

        awaitCompleted(jids);
        assertTrue(workers.stop(Duration.ofSeconds(10)), "idle workers stop cleanly");
        for (String jid : jids) {
            assertEquals(1, ledger.starts(jid).size(), "runs of " + jid);
            assertEquals(1, ledger.starts(jid).get(0).attempt());
        }
        assertTrue(fixture.dead().isEmpty(), "nothing dead");
    }

    @Test
    void argsRoundTripExactly() throws Exception {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("ArgsWorker", recording()).build();
        ObjectMapper m = new ObjectMapper();
        ArrayNode args = JsonNodeFactory.withExactBigDecimals(true).arrayNode();
        args.add("héllo wörld ✓ 日本語 🎉 \"quoted\" \\ \n tab\t");
        args.add(m.readTree("{\"a\":{\"b\":[1,2,{\"c\":null}],\"d\":\"x\"},\"e\":[]}"));
        args.add(new BigInteger("123456789012345678901234567890"));
        args.add(new BigDecimal("3.14159265358979323846264338327950288"));
        args.add(Long.MIN_VALUE);
        args.addNull();
        args.addArray();
        args.addObject();
        args.add(true);
        args.add(new BigDecimal("-5E-11"));
        Job job = Job.builder("ArgsWorker").argsNode(args).build();
        fixture.queue().enqueue(job);
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);

        awaitCompleted(List.of(job.jid()));
        JsonNode seen = new ObjectMapper()
                .reader()
                .with(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .readTree(ledger.starts(job.jid()).get(0).argsJson());
        assertEquals(args.toString(), seen.toString(), "args survive the backend byte for byte");
    }

    @Test
    void enqueueAllRunsEveryJob() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("BulkWorker", recording()).build();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 500; i++) {
            jobs.add(Job.builder("BulkWorker").args(i).build());
        }
        List<String> jids = fixture.queue().enqueueAll(jobs);
        assertEquals(jobs.stream().map(Job::jid).toList(), jids, "jids come back in order");
        startWorkers(core(registry), 4, Job.DEFAULT_QUEUE);

        awaitCompleted(jids);
        assertEquals(Map.of(), ledger.duplicates());
    }

    /**
     * The time limit is part of the enqueue contract: within it, jobs are accepted as without one (a job whose
     * {@code at} is in the future is scheduled); a limit already spent throws {@link EnqueueTimeoutException} at once
     * and sends nothing.
     */
    @Test
    void aTimeLimitIsPartOfTheEnqueue() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("LimitWorker", recording()).build();
        JobQueue queue = fixture.queue();
        Job spent = Job.of("LimitWorker", "spent");
        assertTimeoutPreemptively(
                timeout(),
                () -> assertThrows(
                        EnqueueTimeoutException.class, () -> queue.enqueueAll(List.of(spent), Duration.ZERO)));
        assertThrows(EnqueueTimeoutException.class, () -> queue.enqueue(spent, Duration.ofSeconds(-1)));

        List<String> jids = new ArrayList<>(queue.enqueueAll(
                List.of(
                        Job.of("LimitWorker", "a"),
                        Job.of("LimitWorker", "b"),
                        Job.builder("LimitWorker")
                                .args("later")
                                .at(Instant.now().plusSeconds(1))
                                .build()),
                timeout()));
        jids.add(queue.enqueue(Job.of("LimitWorker", "c"), timeout()));
        startWorkers(core(registry), 2, Job.DEFAULT_QUEUE);

        awaitCompleted(jids);
        assertTrue(ledger.starts(spent.jid()).isEmpty(), "a job whose limit was spent is not sent");
        assertEquals(Map.of(), ledger.duplicates());
    }

    /**
     * With the server frozen (SIGSTOP), an enqueue with a time limit returns about then with
     * {@link EnqueueTimeoutException}, where the backend's own timeouts would hold it far longer: for a queue the
     * backend has used and for one it has not (Kafka: whose topics it must check or create). Once the server thaws,
     * enqueues within the limit succeed again.
     */
    @Test
    void aTimeLimitIsKeptWhileTheServerHangs() {
        Optional<BackendFixture.Freezable> server = fixture.server();
        assumeTrue(server.isPresent(), "this fixture's server cannot be frozen");
        JobQueue queue = fixture.queue();
        queue.enqueueAll(List.of(Job.of("LimitWorker", "warm")));
        // Well under the backends' own timeouts (Redis's socket timeout: 3 s; Kafka's enqueue timeout: 30 s).
        Duration limit = Duration.ofMillis(500);
        List<Job> jobs = List.of(
                Job.of("LimitWorker", "frozen"),
                Job.builder("LimitWorker").queue("fresh").args("frozen").build());
        server.get().pause();
        try {
            assertTimeoutPreemptively(
                    limit.plus(FREEZE_SLACK),
                    () -> assertThrows(EnqueueTimeoutException.class, () -> queue.enqueueAll(jobs, limit)));
        } finally {
            server.get().resume();
        }
        await().atMost(timeout())
                .ignoreExceptions()
                .until(() -> queue.enqueueAll(List.of(Job.of("LimitWorker", "after")), limit)
                                .size()
                        == 1);
    }

    @Test
    void scheduledJobDoesNotRunBeforeItsTime() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("LaterWorker", recording()).build();
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);
        Instant at = Instant.now().plusSeconds(2);
        String later = fixture.queue().enqueueAt(Job.of("LaterWorker", "later"), at);
        String now = fixture.queue().enqueue(Job.of("LaterWorker", "now"));

        awaitCompleted(List.of(now, later));
        Instant started = ledger.starts(later).get(0).startedAt();
        assertFalse(started.isBefore(at), "scheduled for " + at + " but started at " + started);
        assertTrue(ledger.starts(now).get(0).startedAt().isBefore(at), "the immediate job did not wait");
    }

    @Test
    void failingJobIsRetriedUntilItSucceeds() {
        Worker flaky = recording(run -> {
            if (run.attempt() < 3) {
                throw new IllegalStateException("attempt " + run.attempt() + " fails");
            }
        });
        WorkerRegistry registry =
                WorkerRegistry.builder().register("FlakyWorker", flaky).build();
        String jid = fixture.queue().enqueue(Job.of("FlakyWorker", 42));
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);

        awaitCompleted(List.of(jid));
        assertEquals(
                List.of(1, 2, 3),
                ledger.starts(jid).stream().map(Ledger.Run::attempt).toList());
        assertEquals(1, ledger.completions(jid));
        assertTrue(deadJob(jid).isEmpty(), "a job that succeeded is not dead");
    }

    @Test
    void exhaustedRetriesEndDeadWithErrorFields() {
        Worker doomed = recording(run -> {
            throw new IllegalStateException("boom on attempt " + run.attempt());
        });
        WorkerRegistry registry = WorkerRegistry.builder()
                .register(
                        "DoomedWorker",
                        doomed,
                        WorkerOptions.custom().maxRetries(2).build())
                .build();
        String jid = fixture.queue().enqueue(Job.of("DoomedWorker", "x"));
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);

        await().atMost(timeout()).until(() -> deadJob(jid).isPresent());
        Job dead = deadJob(jid).orElseThrow();
        assertEquals(3, ledger.starts(jid).size(), "first run plus two retries");
        assertEquals("java.lang.IllegalStateException", dead.errorClass());
        assertEquals("boom on attempt 3", dead.errorMessage());
        assertEquals(2, dead.retryCount());
        assertNotNull(dead.failedAt(), "failed_at");
        assertNotNull(dead.retriedAt(), "retried_at");
        assertEquals("DoomedWorker", dead.className());
        assertEquals("x", dead.args().get(0).textValue());
    }

    @Test
    void malformedPayloadsGoDeadAndWorkersKeepRunning() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("HardWorker", recording()).build();
        fixture.pushRaw(Job.DEFAULT_QUEUE, "{not json".getBytes(StandardCharsets.UTF_8));
        fixture.pushRaw(
                Job.DEFAULT_QUEUE,
                "{\"args\":[1],\"jid\":\"0123456789abcdef01234567\"}".getBytes(StandardCharsets.UTF_8));
        fixture.pushRaw(
                Job.DEFAULT_QUEUE, "{\"class\":\"HardWorker\",\"args\":\"oops\"}".getBytes(StandardCharsets.UTF_8));
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);
        String good = fixture.queue().enqueue(Job.of("HardWorker", "still alive"));

        awaitCompleted(List.of(good));
        await().atMost(timeout()).until(() -> fixture.dead().size() >= 3);
        List<Job> dead = fixture.dead();
        assertEquals(3, dead.size(), "every malformed payload is in the dead set / DLQ: " + dead);
        assertTrue(dead.stream().allMatch(j -> j.className().equals(ExecutionCore.INVALID_PAYLOAD_CLASS)));
        assertTrue(dead.stream().allMatch(j -> j.errorClass().equals(InvalidPayloadException.class.getName())));
        assertTrue(dead.stream().anyMatch(j -> j.errorMessage().contains("not valid JSON")), "names the JSON fault");
        assertTrue(
                dead.stream()
                        .anyMatch(j -> j.errorMessage().contains("no 'class'")
                                && j.jid().equals("0123456789abcdef01234567")),
                "names the missing class and keeps the jid");
        assertTrue(
                dead.stream()
                        .anyMatch(j -> j.errorMessage().contains("'args'")
                                && j.errorMessage().contains("array")),
                "names the args fault");
        assertTrue(dead.stream().anyMatch(j -> j.args().get(0).textValue().equals("{not json")), "keeps the bytes");
    }

    @Test
    void unknownWorkerGoesDeadNamingTheClass() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("HardWorker", recording()).build();
        String unknown = fixture.queue().enqueue(Job.of("NoSuchWorker", 1));
        // A payload naming a real JDK class must not instantiate it either.
        String jdk = fixture.queue().enqueue(Job.of("java.lang.ProcessBuilder", "touch", "/tmp/pwned"));
        startWorkers(core(registry), 1, Job.DEFAULT_QUEUE);

        await().atMost(timeout())
                .until(() -> deadJob(unknown).isPresent() && deadJob(jdk).isPresent());
        assertTrue(deadJob(unknown).orElseThrow().errorMessage().contains("'NoSuchWorker'"));
        assertTrue(deadJob(jdk).orElseThrow().errorMessage().contains("no worker registered"));
        assertTrue(ledger.starts(unknown).isEmpty());
    }

    @Test
    void concurrentWorkerProcessesRunEachJobOnce() {
        WorkerRegistry registry =
                WorkerRegistry.builder().register("HardWorker", recording()).build();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            jobs.add(Job.builder("HardWorker")
                    .args(i)
                    .routingKey("account-" + (i % 37))
                    .build());
        }
        List<String> jids = fixture.queue().enqueueAll(jobs);
        WorkerRuntime a = startWorkers(core(registry), 4, Job.DEFAULT_QUEUE);
        WorkerRuntime b = startWorkers(core(registry), 4, Job.DEFAULT_QUEUE);

        awaitCompleted(jids);
        a.stop(Duration.ofSeconds(10));
        b.stop(Duration.ofSeconds(10));
        assertEquals(Map.of(), ledger.duplicates(), "no job ran twice in the happy path");
        assertEquals(jids.size(), ledger.completedCount());
    }

    @Test
    void gracefulShutdownLosesNoInFlightJob() {
        AtomicInteger running = new AtomicInteger();
        Worker slow = recording(run -> {
            running.incrementAndGet();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted by shutdown", e);
            }
        });
        WorkerRegistry registry =
                WorkerRegistry.builder().register("SlowWorker", slow).build();
        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            jobs.add(Job.of("SlowWorker", i));
        }
        List<String> jids = fixture.queue().enqueueAll(jobs);
        WorkerRuntime first = startWorkers(core(registry), 4, Job.DEFAULT_QUEUE);
        await().atMost(timeout()).until(() -> running.get() >= 4);

        first.stop(Duration.ofMillis(50));
        startWorkers(core(registry), 4, Job.DEFAULT_QUEUE);
        awaitCompleted(jids);
        for (String jid : jids) {
            assertTrue(deadJob(jid).isEmpty(), "no job died because of the shutdown");
        }
    }

    @Test
    void oversizedPayloadIsRejectedAtEnqueue() {
        String big = "x".repeat(1024 * 1024 + 1);
        PayloadTooLargeException e = assertThrows(
                PayloadTooLargeException.class, () -> fixture.queue().enqueue(Job.of("HardWorker", big)));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
    }
}
