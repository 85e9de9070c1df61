package dev.crossfade.redis.internal;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker pool: {@code concurrency} threads take fetched jobs from the local hand-off queue, run them through the
 * shared {@link ExecutionCore}, and pass the outcome to the {@link Acknowledger}. Also keeps what Sidekiq's Web UI
 * shows: the busy jobs per thread and the processed/failed counts flushed by the heartbeat.
 *
 * <p>Every job a thread takes gets an outcome, whatever is thrown: the core turns a worker's failures into outcomes
 * itself, and anything that escapes the core anyway (an {@link Error} from a listener, a run-once guard, or a throwable
 * whose message cannot be read) makes the job dead with a reason naming it, rather than leaving it in progress until
 * the process dies. Threads start no job while the heartbeat is stale: peers may be recovering this process's jobs.
 */
public final class Processor {
    private static final Logger log = LoggerFactory.getLogger(Processor.class);
    /** Larger payloads are shown in the Web UI's busy list as a stub: the heartbeat rewrites that list on every beat. */
    private static final int MAX_SHOWN_PAYLOAD = 64 * 1024;

    /**
     * What a busy thread is doing, in the shape of Sidekiq's {@code <identity>:workers} hash values. Holds the fetched
     * bytes: only a heartbeat that finds the job still running turns them into the payload shown.
     */
    public record Work(String queue, byte[] fetched, long runAt) {
        public String payload() {
            return shown(fetched);
        }
    }

    private final ExecutionCore core;
    private final int concurrency;
    private final BlockingQueue<Fetched> local;
    private final Semaphore fetchPermits;
    private final Acknowledger acker;
    private final BooleanSupplier mayStart;
    private final String threadPrefix;
    private final ExecutionMetrics executions;
    private final List<Supervisor.Slot> threads = new ArrayList<>();
    private final Map<String, Work> busy = new ConcurrentHashMap<>();
    private final Map<Thread, Fetched> running = new ConcurrentHashMap<>();
    private final AtomicLong processed = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean stopping;

    /**
     * @param mayStart whether a thread may start its next job now (false while this process's heartbeat is stale)
     */
    public Processor(
            ExecutionCore core,
            int concurrency,
            BlockingQueue<Fetched> local,
            Semaphore fetchPermits,
            Acknowledger acker,
            BooleanSupplier mayStart,
            ExecutionMetrics executions,
            String threadPrefix) {
        this.executions = executions;
        this.core = core;
        this.concurrency = concurrency;
        this.local = local;
        this.fetchPermits = fetchPermits;
        this.acker = acker;
        this.mayStart = mayStart;
        this.threadPrefix = threadPrefix;
    }

    public void start(Supervisor supervisor) {
        for (int i = 0; i < concurrency; i++) {
            threads.add(supervisor.start(threadPrefix + "-" + i, "worker", this::run));
        }
    }

    private void run() {
        String tid = Long.toString(Thread.currentThread().getId(), 36);
        while (!stopping) {
            Fetched f;
            try {
                if (!mayStart.getAsBoolean()) {
                    Thread.sleep(50);
                    continue;
                }
                f = local.poll(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                continue;
            }
            if (f == null) {
                continue;
            }
            try {
                if (f.start()) {
                    process(f, tid);
                }
            } finally {
                fetchPermits.release();
            }
        }
    }

    private void process(Fetched f, String tid) {
        Outcome outcome = null;
        Throwable escaped = null;
        long t0 = System.nanoTime();
        try {
            running.put(Thread.currentThread(), f);
            busy.put(tid, new Work(f.queue, f.payload, System.currentTimeMillis() / 1000));
            outcome = core.execute(f.payload, Backend.REDIS, f.queue);
        } catch (Throwable t) { // NOPMD: whatever escapes, the job must still get an outcome
            escaped = t;
        } finally {
            busy.remove(tid);
            running.remove(Thread.currentThread());
        }
        if (outcome == null) {
            outcome = escapedOutcome(f, escaped);
        }
        processed.incrementAndGet();
        if (!(outcome instanceof Outcome.Succeeded)) {
            failed.incrementAndGet();
        }
        record(outcome, (System.nanoTime() - t0) / 1_000_000);
        if (f.finish() && outcome != null) {
            acker.submit(f, outcome);
        }
        // Else a shutdown gave up waiting and already pushed the job back: this late outcome must not be written.
        Thread.interrupted(); // do not carry a shutdown interrupt into the next job
        if (escaped instanceof ThreadDeath death) {
            throw death; // an asynchronous stop: the thread goes, the supervisor starts another
        }
    }

    /**
     * The dead outcome of a job whose execution threw past the core. Dead rather than retried: the worker may have run
     * and finished, so running it again is for an operator to decide. Null only if not even that could be built.
     */
    private static Outcome escapedOutcome(Fetched f, Throwable escaped) {
        String why = FailureLog.describe(escaped) + " escaped the execution core while it ran this job; the job may "
                + "or may not have run, so it is not retried automatically";
        try {
            log.error("job fetched from queue '{}': {}", f.queue, why);
            Job dead =
                    JobRetry.deadEnvelope(f.payload, f.queue, escaped.getClass().getName(), why);
            return new Outcome.Dead(dead, escaped);
        } catch (Throwable t) { // NOPMD: e.g. out of memory re-reading a huge payload
            try {
                Job dead = ExecutionCore.invalidPayloadEnvelope(null, f.queue, escaped, Instant.now()).toBuilder()
                        .errorMessage(
                                why + " (payload not kept: " + t.getClass().getName() + ")")
                        .build();
                return new Outcome.Dead(dead, escaped);
            } catch (Throwable nothing) { // NOPMD
                log.error(
                        "cannot record the outcome of a job on queue '{}'; it stays in progress until recovery",
                        f.queue);
                return null;
            }
        }
    }

    /** Counts the job for Sidekiq's Metrics page, under its wrapped class when it has one (Active Job). */
    private void record(Outcome outcome, long millis) {
        try {
            Job job = outcome == null ? null : outcome.job();
            if (job == null) {
                return;
            }
            com.fasterxml.jackson.databind.JsonNode wrapped = job.extra().get("wrapped");
            String cls = wrapped != null
                            && wrapped.isTextual()
                            && !wrapped.textValue().isEmpty()
                    ? wrapped.textValue()
                    : job.className();
            executions.record(cls, !(outcome instanceof Outcome.Succeeded), millis);
        } catch (RuntimeException e) {
            log.debug("job not counted in the execution metrics: {}", e.toString());
        }
    }

    private static String shown(byte[] payload) {
        if (payload.length <= MAX_SHOWN_PAYLOAD) {
            return new String(payload, StandardCharsets.UTF_8);
        }
        return "{\"class\":\"crossfade.LargePayload\",\"args\":[\"" + payload.length + " bytes, not shown\"]}";
    }

    /** Tells threads to exit after their current job. */
    public void stopTaking() {
        stopping = true;
    }

    /** Waits for threads to finish their current job. @return true if all exited before the deadline */
    public boolean awaitIdle(long deadlineNanos) {
        boolean all = true;
        for (Supervisor.Slot t : threads) {
            all &= t.join(deadlineNanos);
        }
        return all;
    }

    /**
     * Takes back the jobs of threads still running after the shutdown timeout and interrupts those threads (as
     * Sidekiq raises Shutdown in them). @return the jobs taken back, to be requeued
     */
    public List<Fetched> abandonRunning() {
        List<Fetched> taken = new ArrayList<>();
        for (Map.Entry<Thread, Fetched> e : running.entrySet()) {
            if (e.getValue().abandon()) {
                taken.add(e.getValue());
                e.getKey().interrupt();
            }
        }
        return taken;
    }

    public Map<String, Work> busy() {
        return busy;
    }

    /** Returns and resets the processed count, for the heartbeat's stats flush. */
    public long takeProcessed() {
        return processed.getAndSet(0);
    }

    public long takeFailed() {
        return failed.getAndSet(0);
    }

    /** Gives back counts a failed stats flush could not write, so they are not lost. */
    public void restoreCounts(long processedCount, long failedCount) {
        processed.addAndGet(processedCount);
        failed.addAndGet(failedCount);
    }
}
