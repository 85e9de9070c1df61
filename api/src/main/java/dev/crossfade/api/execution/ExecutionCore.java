package dev.crossfade.api.execution;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Jid;
import dev.crossfade.api.Job;
import dev.crossfade.api.activejob.ActiveJob;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.internal.JobAccess;
import dev.crossfade.api.internal.Json;
import dev.crossfade.api.internal.LazyBody;
import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.UnknownWorkerException;
import dev.crossfade.api.worker.WorkerRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place a job runs, shared by every backend: decode, look the worker up in the registry, run it, catch
 * everything, and decide success, retry (Sidekiq's schedule) or dead, with the error fields filled as Sidekiq fills
 * them. Thread-safe; one instance serves a whole worker pool.
 */
public final class ExecutionCore {
    /** Class name given to dead entries made from payloads that could not be decoded. */
    public static final String INVALID_PAYLOAD_CLASS = "crossfade.InvalidPayload";
    /** Sidekiq's default retry count. */
    public static final int DEFAULT_MAX_RETRIES = 25;

    private static final Logger log = LoggerFactory.getLogger(ExecutionCore.class);
    /** Sidekiq keeps the first 10,000 characters of an error message. */
    private static final int MAX_ERROR_MESSAGE = 10_000;

    private static final int MAX_KEPT_PAYLOAD = 64 * 1024;

    private final WorkerRegistry registry;
    private final JobCodec codec;
    private final RetryPolicy retryPolicy;
    private final int defaultMaxRetries;
    private final ExecutionListener listener;
    private final RunGuard guard;
    private final Clock clock;

    private ExecutionCore(Builder b) {
        this.registry = b.registry;
        this.codec = b.codec;
        this.retryPolicy = b.retryPolicy;
        this.defaultMaxRetries = b.defaultMaxRetries;
        this.listener = b.listener;
        this.guard = b.guard;
        this.clock = b.clock;
    }

    public static Builder builder(WorkerRegistry registry) {
        return new Builder(registry);
    }

    public JobCodec codec() {
        return codec;
    }

    public WorkerRegistry registry() {
        return registry;
    }

    /**
     * Decodes and runs a payload as fetched from a backend. A payload that cannot be decoded becomes a
     * {@link Outcome.Dead} whose job is an envelope of class {@value #INVALID_PAYLOAD_CLASS} carrying the raw payload
     * (truncated to 64 KiB) as its only arg and the parse error as its error message.
     *
     * @param queue the queue or topic it was fetched from, for the dead envelope
     */
    public Outcome execute(byte[] payload, Backend backend, String queue) {
        Job job;
        try {
            job = codec.decode(payload);
        } catch (RuntimeException | StackOverflowError decodeError) {
            InvalidPayloadException e = decodeError instanceof InvalidPayloadException ipe
                    ? ipe
                    : new InvalidPayloadException("payload cannot be decoded: " + decodeError, decodeError);
            Outcome outcome = invalid(payload, salvageJid(payload), queue, e, backend);
            notifyFinished(outcome.job(), backend, outcome, clock.instant(), Duration.ZERO);
            return outcome;
        }
        return execute(job, backend);
    }

    /**
     * Runs a payload whose worker class, jid, attempt and shadow flag travelled beside it, as Crossfade writes them
     * into Kafka record headers: the job's other fields are decoded only when something reads them (a worker its args,
     * a failure its retry state), so a job that succeeds without reading them costs no decode. A payload that proves
     * invalid when read ends as {@link #execute(byte[], Backend, String)} ends it on fetch: a {@link Outcome.Dead}
     * with the invalid-payload envelope and the decode error; so does one that disagrees with the facts given. A
     * payload that cannot be trusted to agree (too large, or not marked a shadow copy yet mentioning {@code shadow}),
     * or facts that are not valid, take the eager path of {@link #execute(byte[], Backend, String)}.
     *
     * @param queue     the queue or topic it was fetched from, for a dead envelope
     * @param className the worker class (the {@code class} header)
     * @param jid       the job id (the {@code jid} header)
     * @param attempt   which run this is, 1 for the first (the {@code attempt} header)
     * @param shadow    whether it is a shadow copy (read from a shadow topic)
     */
    public Outcome execute(
            byte[] payload, Backend backend, String queue, String className, String jid, int attempt, boolean shadow) {
        if (payload == null
                || payload.length > codec.maxPayloadBytes()
                || className == null
                || className.isBlank()
                || jid == null
                || jid.isBlank()
                || attempt < 1
                || !shadow && mentionsShadow(payload)) {
            return execute(payload, backend, queue);
        }
        return execute(
                JobAccess.get().lazy(new LazyBody(payload, codec::decode, queue, className, jid, attempt, shadow)),
                backend);
    }

    /**
     * Whether the payload might hold a {@code shadow} key: its text quoted, or any Unicode escape (a key may be spelled
     * with one). Such a payload is decoded eagerly, so that a shadow copy is never run for real on the word of
     * a header.
     */
    static boolean mentionsShadow(byte[] p) {
        for (int i = 0, end = p.length - 1; i < end; i++) {
            byte b = p[i];
            if (b == '\\') {
                if (p[i + 1] == 'u') {
                    return true;
                }
                i++;
            } else if (b == 's'
                    && p[i + 1] == 'h'
                    && i > 0
                    && p[i - 1] == '"'
                    && i + 6 < p.length
                    && p[i + 2] == 'a'
                    && p[i + 3] == 'd'
                    && p[i + 4] == 'o'
                    && p[i + 5] == 'w'
                    && p[i + 6] == '"') {
                return true;
            }
        }
        return false;
    }

    /** The dead outcome of a payload that is not a job, logged; the caller notifies the listener. */
    private Outcome invalid(byte[] payload, String jid, String queue, InvalidPayloadException e, Backend backend) {
        Job dead = invalidPayloadEnvelope(payload, jid, queue, e, clock.instant());
        log.warn(
                "{} payload on queue '{}' is malformed, sending jid {} to dead: {}",
                backend.id(),
                queue,
                dead.jid(),
                e.getMessage());
        return new Outcome.Dead(dead, e);
    }

    /**
     * For a lazily decoded job: the invalid-payload outcome when its payload proved invalid (decoding it first when
     * {@code decode}), else null. Always null for a job that was decoded or built whole.
     */
    private Outcome invalidBody(Job job, boolean decode, Backend backend) {
        LazyBody body = JobAccess.get().body(job);
        if (body == null) {
            return null;
        }
        InvalidPayloadException e = decode ? body.check() : body.fault();
        return e == null ? null : invalid(body.payload(), body.jid(), body.fetchedFrom(), e, backend);
    }

    /** As {@link #invalidBody}, with the listeners told of the dead outcome when there is one. */
    private Outcome endIfInvalid(Job job, boolean decode, Backend backend, Instant start) {
        Outcome invalid = invalidBody(job, decode, backend);
        if (invalid != null) {
            notifyFinished(invalid.job(), backend, invalid, start, Duration.ZERO);
        }
        return invalid;
    }

    /** Runs a decoded job. Never throws: every failure is an outcome. */
    public Outcome execute(Job job, Backend backend) {
        Instant start = clock.instant();
        Optional<WorkerRegistry.Registration> found = registry.find(job.className());
        JobArgs args = null;
        String wanted = job.className();
        if (found.isEmpty() && ActiveJob.isWrapper(job.className())) {
            // Rails' Active Job: the worker registered under the job_class runs the Active Job arguments.
            Outcome invalid = endIfInvalid(job, true, backend, start);
            if (invalid != null) {
                return invalid;
            }
            Optional<String> activeJobClass = ActiveJob.jobClass(job);
            if (activeJobClass.isPresent()) {
                wanted = activeJobClass.get();
                found = registry.find(wanted);
                if (found.isPresent()) {
                    args = new JobArgs(ActiveJob.arguments(job));
                }
            }
        }
        if (found.isEmpty()) {
            // As Sidekiq treats a class it cannot load: an error under the job's own retry policy, so in a mixed fleet
            // a job only Ruby knows goes to the retry set, where a Ruby process can pick it up.
            UnknownWorkerException e = new UnknownWorkerException(wanted, registry.classNames());
            Outcome invalid = endIfInvalid(job, true, backend, start);
            if (invalid != null) {
                return invalid;
            }
            log.warn("{} job {} on queue '{}': {}", backend.id(), job.jid(), job.queue(), e.getMessage());
            Outcome outcome = failure(job, null, e, start);
            notifyFinished(job, backend, outcome, start, Duration.ZERO);
            return outcome;
        }
        WorkerRegistry.Registration reg = found.get();
        notifyStarted(job, backend, start);
        if (job.shadow() && !reg.options().shadowSafe()) {
            Outcome outcome = new Outcome.Succeeded(job, null, false, Duration.ZERO);
            // A listener may have read the payload and found it invalid.
            Outcome invalid = endIfInvalid(job, false, backend, start);
            if (invalid != null) {
                return invalid;
            }
            notifyFinished(job, backend, outcome, start, Duration.ZERO);
            return outcome;
        }
        boolean guarded = !job.shadow();
        if (guarded) {
            Outcome held = checkGuard(job, start);
            // A deferred copy is written again, so its payload must be a job; an acknowledged one is checked as far as
            // it was read.
            Outcome invalid = held == null ? null : endIfInvalid(job, held instanceof Outcome.Retry, backend, start);
            if (invalid != null) {
                return invalid;
            }
            if (held != null) {
                notifyFinished(job, backend, held, start, Duration.ZERO);
                return held;
            }
        }
        Context ctx = new Context(job, backend);
        long t0 = System.nanoTime();
        Outcome outcome;
        Outcome invalid = null;
        try {
            reg.worker().perform(args != null ? args : JobArgs.of(job), ctx);
            outcome = new Outcome.Succeeded(job, ctx.result, true, Duration.ofNanos(System.nanoTime() - t0));
        } catch (Throwable t) {
            // A failure is written again (retry, dead): its payload must be a job, so a lazy one is decoded here.
            invalid = invalidBody(job, true, backend);
            outcome = invalid != null ? invalid : failure(job, reg, t, start);
        }
        if (outcome instanceof Outcome.Succeeded) {
            // A payload found invalid while the job ran (a worker or listener read it) ends dead even if the worker
            // caught the error.
            invalid = invalidBody(job, false, backend);
            if (invalid != null) {
                outcome = invalid;
            }
        }
        // A job's interrupt (its own, or a shutdown's) ends with the job: the thread's next job must start clean.
        // Runtimes learn of a shutdown from their own flag, never from this status.
        Thread.interrupted();
        if (guarded) {
            releaseGuard(job, outcome instanceof Outcome.Succeeded);
        }
        // Listeners see an invalid payload's dead envelope, as on fetch.
        notifyFinished(
                invalid != null ? invalid.job() : job,
                backend,
                outcome,
                start,
                Duration.ofNanos(System.nanoTime() - t0));
        return outcome;
    }

    /** Null to run; otherwise the outcome for a copy that must not run now. A guard failure never blocks the job. */
    private Outcome checkGuard(Job job, Instant now) {
        RunGuard.Claim claim;
        try {
            claim = guard.claim(job);
        } catch (RuntimeException e) {
            log.warn("run-once guard unavailable for job {} ({}); running it (at-least-once)", job.jid(), e.toString());
            return null;
        }
        return switch (claim) {
            case RUN -> null;
            case ALREADY_DONE -> {
                log.info(
                        "job {} ({}) attempt {} already ran as another copy; acknowledging this one",
                        job.jid(),
                        job.className(),
                        job.attempt());
                yield new Outcome.Succeeded(job, null, false, Duration.ZERO);
            }
            case IN_PROGRESS ->
                new Outcome.Retry(
                        job,
                        now.plus(guard.deferFor()),
                        new IllegalStateException("another copy of job " + job.jid() + " is running; deferred"));
        };
    }

    private void releaseGuard(Job job, boolean succeeded) {
        try {
            guard.finished(job, succeeded);
        } catch (RuntimeException e) {
            log.warn(
                    "run-once guard could not record job {} ({}): {}",
                    job.jid(),
                    succeeded ? "done" : "failed",
                    e.toString());
        }
    }

    /**
     * Sidekiq's {@code JobRetry}: {@code retry: false} discards the job; otherwise it is retried until its limit
     * ({@code retry} as a count, else the worker's, else the default) or its {@code retry_for} window is spent, then
     * dead unless {@code dead: false}. A retry goes to {@code retry_queue} when the job names one.
     *
     * @param reg null for a class no worker is registered for
     */
    private Outcome failure(Job job, WorkerRegistry.Registration reg, Throwable error, Instant now) {
        if (job.shadow()) {
            return new Outcome.Discarded(job, error);
        }
        JsonNode retry = job.retry();
        if (retry != null && retry.isBoolean() && !retry.booleanValue()) {
            log.warn(
                    "job {} ({}) failed and has retry: false; discarded as Sidekiq does: {}",
                    job.jid(),
                    job.className(),
                    message(error));
            return new Outcome.Discarded(failed(job, error, now), error);
        }
        Job failed = failed(job, error, now);
        JsonNode retryQueue = job.extra().get("retry_queue");
        if (retryQueue != null
                && retryQueue.isTextual()
                && !retryQueue.textValue().isBlank()) {
            failed = failed.toBuilder().queue(retryQueue.textValue()).build();
        }
        Integer workerMax = reg == null ? null : reg.options().maxRetries();
        int max = job.maxRetries(workerMax != null ? workerMax : defaultMaxRetries);
        int count = failed.retryCount();
        // As in Sidekiq, retry_for and a retry count exclude each other: with retry_for only the window counts.
        JsonNode retryFor = failed.extra().get("retry_for");
        boolean exhausted = retryFor != null && retryFor.isNumber() ? retryWindowSpent(failed, now) : count >= max;
        if (!exhausted) {
            RetryPolicy policy = reg != null && reg.options().retryPolicy() != null
                    ? reg.options().retryPolicy()
                    : retryPolicy;
            Duration delay = policy.delay(count, error);
            log.warn(
                    "job {} ({}) failed on attempt {}: {}; retry {} of {} in {} s",
                    job.jid(),
                    job.className(),
                    job.attempt(),
                    message(error),
                    count + 1,
                    max,
                    delay.toSeconds());
            return new Outcome.Retry(failed, now.plus(delay), error);
        }
        JsonNode dead = job.extra().get("dead");
        if (dead != null && dead.isBoolean() && !dead.booleanValue()) {
            log.warn(
                    "job {} ({}) failed after {} attempts and has dead: false; discarded as Sidekiq does: {}",
                    job.jid(),
                    job.className(),
                    count + 1,
                    message(error));
            return new Outcome.Discarded(failed, error);
        }
        log.warn("job {} ({}) is dead after {} attempts: {}", job.jid(), job.className(), count + 1, message(error));
        return new Outcome.Dead(failed, error);
    }

    /** Sidekiq's {@code retry_for} (seconds since the first failure): once past it, no further retry. */
    private static boolean retryWindowSpent(Job failed, Instant now) {
        JsonNode retryFor = failed.extra().get("retry_for");
        if (retryFor == null || !retryFor.isNumber() || failed.failedAt() == null) {
            return false;
        }
        long millis = (long) (retryFor.doubleValue() * 1000);
        return failed.failedAt().plusMillis(millis).isBefore(now);
    }

    /**
     * Sidekiq's bookkeeping: the first failure sets failed_at and retry_count 0; later ones set retried_at and +1. A job
     * with {@code backtrace} (true, or a line count) gets {@code error_backtrace} as Sidekiq stores it.
     */
    private static Job failed(Job job, Throwable error, Instant now) {
        Job.Builder b = job.toBuilder()
                .errorMessage(message(error))
                .errorClass(error.getClass().getName());
        if (job.retryCount() == null) {
            b.failedAt(now).retryCount(0);
        } else {
            b.retriedAt(now).retryCount(job.retryCount() + 1);
        }
        JsonNode wanted = job.extra().get("backtrace");
        if (wanted != null && (wanted.isBoolean() && wanted.booleanValue() || wanted.isIntegralNumber())) {
            int lines = wanted.isBoolean() ? Integer.MAX_VALUE : Math.max(0, wanted.intValue());
            b.extra("error_backtrace", TextNode.valueOf(Backtraces.compress(error, lines)));
        }
        return b.build();
    }

    /**
     * The dead-set entry of a payload that is not a job, the same on every backend: class
     * {@value #INVALID_PAYLOAD_CLASS}, the payload's first 64 KiB as its only arg, the jid salvaged from the payload when
     * it has one, {@code retry: 0} so that retrying it from the dead set lands it there again rather than discarding it.
     *
     * @param payload  the bytes as fetched; null when they could not be kept
     * @param queue    where it was fetched from; the default queue when null or blank
     * @param error    what was wrong, as the entry's error class and message
     * @param failedAt when it was found
     */
    public static Job invalidPayloadEnvelope(byte[] payload, String queue, Throwable error, Instant failedAt) {
        return invalidPayloadEnvelope(payload, salvageJid(payload), queue, error, failedAt);
    }

    private static Job invalidPayloadEnvelope(
            byte[] payload, String jid, String queue, Throwable error, Instant failedAt) {
        String raw = payload == null
                ? ""
                : new String(payload, 0, Math.min(payload.length, MAX_KEPT_PAYLOAD), StandardCharsets.UTF_8);
        ArrayNode args = Json.mapper().createArrayNode().add(raw);
        return Job.builder(INVALID_PAYLOAD_CLASS)
                .argsNode(args)
                .jid(jid)
                .queue(queue == null || queue.isBlank() ? Job.DEFAULT_QUEUE : queue)
                .createdAt(failedAt)
                .retry(0)
                .errorClass(error.getClass().getName())
                .errorMessage(message(error))
                .failedAt(failedAt)
                .retryCount(0)
                .build();
    }

    /** Keeps the jid of a half-valid payload so ledgers can still account for it. */
    private static String salvageJid(byte[] payload) {
        if (payload != null && payload.length <= JobCodec.DEFAULT_MAX_PAYLOAD_BYTES) {
            try {
                JsonNode n = Json.mapper().readTree(payload);
                if (n != null
                        && n.path("jid").isTextual()
                        && !n.path("jid").textValue().isBlank()) {
                    return n.path("jid").textValue();
                }
            } catch (Exception ignored) {
                // Not JSON at all: a fresh jid identifies the dead entry.
            }
        }
        return Jid.next();
    }

    private static String message(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.length() > MAX_ERROR_MESSAGE ? m.substring(0, MAX_ERROR_MESSAGE) + "…" : m;
    }

    private void notifyStarted(Job job, Backend backend, Instant start) {
        try {
            listener.started(job, backend, start);
        } catch (RuntimeException e) {
            log.warn("execution listener failed on start of {}: {}", job.jid(), e.toString());
        }
    }

    private void notifyFinished(Job job, Backend backend, Outcome outcome, Instant start, Duration d) {
        try {
            listener.finished(job, backend, outcome, start, d);
        } catch (RuntimeException e) {
            log.warn("execution listener failed on finish of {}: {}", job.jid(), e.toString());
        }
    }

    private static final class Context implements JobContext {
        private final Job job;
        private final Backend backend;
        private volatile Object result;

        Context(Job job, Backend backend) {
            this.job = job;
            this.backend = backend;
        }

        @Override
        public String jid() {
            return job.jid();
        }

        @Override
        public String queue() {
            return job.queue();
        }

        @Override
        public int attempt() {
            return job.attempt();
        }

        @Override
        public Backend backend() {
            return backend;
        }

        @Override
        public boolean shadow() {
            return job.shadow();
        }

        @Override
        public Job job() {
            return job;
        }

        @Override
        public void result(Object result) {
            this.result = result;
        }
    }

    /**
     * Builder for {@link ExecutionCore}.
     *
     * <table>
     *   <caption>Settings and defaults</caption>
     *   <tr><th>setting</th><th>default</th></tr>
     *   <tr><td>codec</td><td>{@link JobCodec#defaults()} (1 MiB payload limit)</td></tr>
     *   <tr><td>retryPolicy</td><td>{@link RetryPolicy#sidekiq()}</td></tr>
     *   <tr><td>defaultMaxRetries</td><td>25</td></tr>
     *   <tr><td>listener</td><td>none</td></tr>
     *   <tr><td>guard</td><td>{@link RunGuard#NONE}; the router's migration runtime sets a jid guard</td></tr>
     *   <tr><td>clock</td><td>system UTC</td></tr>
     * </table>
     */
    public static final class Builder {
        private final WorkerRegistry registry;
        private JobCodec codec = JobCodec.defaults();
        private RetryPolicy retryPolicy = RetryPolicy.sidekiq();
        private int defaultMaxRetries = DEFAULT_MAX_RETRIES;
        private ExecutionListener listener = ExecutionListener.NONE;
        private RunGuard guard = RunGuard.NONE;
        private Clock clock = Clock.systemUTC();

        private Builder(WorkerRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        public Builder codec(JobCodec codec) {
            this.codec = Objects.requireNonNull(codec, "codec");
            return this;
        }

        public Builder retryPolicy(RetryPolicy retryPolicy) {
            this.retryPolicy = Objects.requireNonNull(retryPolicy, "retryPolicy");
            return this;
        }

        public Builder defaultMaxRetries(int defaultMaxRetries) {
            if (defaultMaxRetries < 0) {
                throw new IllegalArgumentException("defaultMaxRetries must be >= 0, got " + defaultMaxRetries);
            }
            this.defaultMaxRetries = defaultMaxRetries;
            return this;
        }

        public Builder listener(ExecutionListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        public Builder guard(RunGuard guard) {
            this.guard = Objects.requireNonNull(guard, "guard");
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        public ExecutionCore build() {
            return new ExecutionCore(this);
        }
    }
}
