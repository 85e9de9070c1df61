package dev.crossfade.router;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.flags.MigrationOpTracking;
import dev.crossfade.flags.RouteDecision;
import dev.crossfade.flags.RoutingFlags;
import io.github.resilience4j.circuitbreaker.CallNotPermittedException;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link JobQueue} an application enqueues into during a migration. Per job, {@link RoutingFlags} picks the
 * authoritative backend and whether a shadow copy goes to the other one.
 *
 * <p>Kafka enqueues run on the caller's thread behind a resilience4j circuit breaker, with the time limit
 * ({@link RouterConfig#kafkaTimeout()}) handed to {@link JobQueue#enqueueAll(List, Duration)}, which keeps to it. When
 * Kafka errs, times out, or the breaker is open, the job goes to Redis and the caller sees success (counted in
 * {@code crossfade.router.fallbacks} and logged). The breaker counts Kafka's own failures only: a call whose caller's
 * limit was spent before it began, or ran out while shorter than kafkaTimeout, is not counted. When Redis is the one
 * failing, Kafka is tried. An enqueue fails only
 * when no backend accepted the job. A job whose Kafka write timed out may still have landed there: before its Redis
 * copy is written it is marked ({@link RouterConfig#twinMarks()}) and that copy waits {@link RouterConfig#twinFence()},
 * so the run-once guard ({@code RedisBackend.runGuard}) claims both copies and runs one.
 *
 * <p>Shadow copies are best effort: a failed shadow enqueue is counted and logged, never thrown.
 */
public final class RoutingJobQueue implements JobQueue {
    /** Extra key on an authoritative copy naming the backend its shadow went to, so comparisons expect it. */
    public static final String SHADOWED_TO = "shadowed_to";

    private static final Logger log = LoggerFactory.getLogger(RoutingJobQueue.class);

    private final JobQueue redis;
    private final JobQueue kafka;
    private final RoutingFlags flags;
    private final CircuitBreaker breaker;
    private final Duration limit;
    /** A deadline meaning none: the caller gave no limit (the Kafka part still keeps to kafkaTimeout). */
    private static final long NO_DEADLINE = Long.MAX_VALUE;

    private final Counter toRedis;
    private final Counter toKafka;
    private final Counter shadows;
    private final Counter shadowFailures;
    private final MeterRegistry meters;
    private final TwinMarks twinMarks;
    private final Duration twinFence;
    private final RouteListener routeListener;

    private final Map<String, AtomicLong> lastFallbackLog = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> suppressedFallbacks = new ConcurrentHashMap<>();

    public RoutingJobQueue(JobQueue redis, JobQueue kafka, RoutingFlags flags, RouterConfig config) {
        this.redis = Objects.requireNonNull(redis, "redis");
        this.kafka = Objects.requireNonNull(kafka, "kafka");
        this.flags = Objects.requireNonNull(flags, "flags");
        CircuitBreakerRegistry breakers = CircuitBreakerRegistry.of(config.circuitBreaker());
        this.breaker = breakers.circuitBreaker("kafka-enqueue");
        this.breaker
                .getEventPublisher()
                .onStateTransition(e -> log.warn(
                        "Kafka enqueue circuit breaker {}: Kafka-bound jobs {}",
                        e.getStateTransition(),
                        e.getStateTransition().getToState() == CircuitBreaker.State.CLOSED
                                ? "go to Kafka again"
                                : "go to Redis while it is not closed"));
        this.limit = config.kafkaTimeout();
        this.meters = config.meterRegistry();
        this.twinMarks = config.twinMarks();
        this.twinFence = config.twinFence();
        this.routeListener = config.routeListener();
        TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(breakers).bindTo(meters);
        this.toRedis = enqueued(Backend.REDIS);
        this.toKafka = enqueued(Backend.KAFKA);
        this.shadows = Counter.builder("crossfade.router.shadow.enqueued").register(meters);
        this.shadowFailures = Counter.builder("crossfade.router.shadow.failed").register(meters);
    }

    private Counter enqueued(Backend b) {
        return Counter.builder("crossfade.router.enqueued")
                .tag("backend", b.id())
                .description("authoritative copies accepted, by the backend that accepted them")
                .register(meters);
    }

    private Counter fallback(String from, String cause) {
        return Counter.builder("crossfade.router.fallbacks")
                .tag("from", from)
                .tag("cause", cause)
                .description("jobs sent to the other backend because the chosen one failed")
                .register(meters);
    }

    /** The breaker's state, for status output and tests. */
    public CircuitBreaker.State kafkaBreakerState() {
        return breaker.getState();
    }

    @Override
    public String enqueue(Job job) {
        return route(job, null, NO_DEADLINE);
    }

    @Override
    public String enqueueAt(Job job, Instant at) {
        return route(job, at, NO_DEADLINE);
    }

    private String route(Job job, Instant at, long deadline) {
        RouteDecision d = flags.decide(job);
        if (d.shadowed() && at != null && d.shadowTo() == Backend.REDIS) {
            // Sidekiq's scheduler, Ruby's included, would move a scheduled shadow copy to the real queue and run it.
            d = new RouteDecision(d.primary(), null, d.reason(), d.migration());
        }
        Job primary = d.shadowed()
                ? job.toBuilder()
                        .extra(SHADOWED_TO, TextNode.valueOf(d.shadowTo().id()))
                        .build()
                : job;
        List<MigrationOpTracking> ops = d.migration() == null ? List.of() : List.of(d.migration());
        try {
            Backend landed = send(d.primary(), List.of(primary), at, ops, deadline);
            if (d.shadowed() && landed == d.primary()) {
                shadow(d.shadowTo(), List.of(job.toBuilder().shadow(true).build()), at, ops, deadline);
            }
        } finally {
            if (d.migration() != null) {
                d.migration().send();
            }
        }
        return job.jid();
    }

    @Override
    public List<String> enqueueAll(List<Job> jobs) {
        return routeAll(jobs, NO_DEADLINE);
    }

    /**
     * {@inheritDoc}
     *
     * <p>The whole call keeps to {@code limit}: the chosen backend gets half of it (Kafka: at most
     * {@link RouterConfig#kafkaTimeout()}), so that a fallback has the other half; shadow copies get what is left.
     */
    @Override
    public List<String> enqueueAll(List<Job> jobs, Duration limit) {
        return routeAll(jobs, EnqueueTimeoutException.deadline(Backend.KAFKA, limit, jobs.size()));
    }

    @Override
    public String enqueue(Job job, Duration limit) {
        return route(job, null, EnqueueTimeoutException.deadline(Backend.KAFKA, limit, 1));
    }

    private List<String> routeAll(List<Job> jobs, long deadline) {
        // Sized for the common case of one backend taking the whole batch.
        List<Job> forRedis = new ArrayList<>(jobs.size());
        List<Job> forKafka = new ArrayList<>(jobs.size());
        List<Job> shadowRedis = new ArrayList<>();
        List<Job> shadowKafka = new ArrayList<>();
        List<String> jids = new ArrayList<>(jobs.size());
        // Migration operations of the jobs in each part (only with a LaunchDarkly migration flag): a part's write
        // is each of its jobs' write.
        List<MigrationOpTracking> kafkaOps = List.of();
        List<MigrationOpTracking> redisOps = List.of();
        List<MigrationOpTracking> shadowKafkaOps = List.of();
        List<MigrationOpTracking> shadowRedisOps = List.of();
        List<MigrationOpTracking> allOps = List.of();
        for (Job job : jobs) {
            jids.add(job.jid());
            RouteDecision d = flags.decide(job);
            Job primary = job;
            MigrationOpTracking op = d.migration();
            if (op != null && allOps.isEmpty()) {
                kafkaOps = new ArrayList<>();
                redisOps = new ArrayList<>();
                shadowKafkaOps = new ArrayList<>();
                shadowRedisOps = new ArrayList<>();
                allOps = new ArrayList<>();
            }
            if (d.shadowed()) {
                primary = job.toBuilder()
                        .extra(SHADOWED_TO, TextNode.valueOf(d.shadowTo().id()))
                        .build();
                (d.shadowTo() == Backend.KAFKA ? shadowKafka : shadowRedis)
                        .add(job.toBuilder().shadow(true).build());
                if (op != null) {
                    (d.shadowTo() == Backend.KAFKA ? shadowKafkaOps : shadowRedisOps).add(op);
                }
            }
            (d.primary() == Backend.KAFKA ? forKafka : forRedis).add(primary);
            if (op != null) {
                (d.primary() == Backend.KAFKA ? kafkaOps : redisOps).add(op);
                allOps.add(op);
            }
        }
        try {
            // Each part goes in one round trip; a part that falls back takes its shadows' place, so those are dropped.
            if (!forKafka.isEmpty() && send(Backend.KAFKA, forKafka, null, kafkaOps, deadline) != Backend.KAFKA) {
                shadowRedis.clear();
            }
            if (!forRedis.isEmpty() && send(Backend.REDIS, forRedis, null, redisOps, deadline) != Backend.REDIS) {
                shadowKafka.clear();
            }
            shadow(Backend.REDIS, shadowRedis, null, shadowRedisOps, deadline);
            shadow(Backend.KAFKA, shadowKafka, null, shadowKafkaOps, deadline);
        } finally {
            allOps.forEach(MigrationOpTracking::send);
        }
        return jids;
    }

    /** Records a write to {@code backend} begun at {@code startNanos} in each of {@code ops}. */
    private static void ran(List<MigrationOpTracking> ops, Backend backend, long startNanos, boolean failed) {
        if (!ops.isEmpty()) {
            Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
            for (MigrationOpTracking op : ops) {
                op.ran(backend, took, failed);
            }
        }
    }

    /** Nanos now when there are migration operations to time; spares the fast path the clock read otherwise. */
    private static long start(List<MigrationOpTracking> ops) {
        return ops.isEmpty() ? 0 : System.nanoTime();
    }

    /** Sends jobs to {@code chosen}, or to the other backend if it fails. Returns where they landed. */
    private Backend send(Backend chosen, List<Job> jobs, Instant at, List<MigrationOpTracking> ops, long deadline) {
        long started = start(ops);
        try {
            write(chosen, jobs, at, firstHalf(deadline));
            ran(ops, chosen, started, false);
            count(chosen, jobs.size());
            routed(chosen, chosen, jobs.size());
            return chosen;
        } catch (InvalidPayloadException e) {
            throw e;
        } catch (RuntimeException first) {
            ran(ops, chosen, started, true);
            Backend other = chosen == Backend.KAFKA ? Backend.REDIS : Backend.KAFKA;
            String cause = causeOf(first);
            fallback(chosen.id(), cause).increment(jobs.size());
            logFallback(chosen, other, jobs.size(), cause, first);
            Instant otherAt = at;
            if (chosen == Backend.KAFKA && mayHaveLanded(first)) {
                otherAt = markTwins(jobs, at);
            } else if (chosen == Backend.REDIS && storedOnRedis(first)) {
                // On the master but unconfirmed by a replica: that copy may run beside the Kafka one. Kafka's copy
                // is not fenced; the guard claims a copy that started before its mark was seen when the mark arrives.
                markTwins(jobs, at);
            }
            long otherStarted = start(ops);
            try {
                write(other, unshadowed(jobs), otherAt, deadline);
                ran(ops, other, otherStarted, false);
                count(other, jobs.size());
                routed(chosen, other, jobs.size());
                return other;
            } catch (RuntimeException second) {
                ran(ops, other, otherStarted, true);
                EnqueueException e = new EnqueueException(
                        other,
                        "no backend accepted the job(s): " + chosen.id()
                                + " failed (" + rootMessage(first) + ") and " + other.id() + " failed ("
                                + rootMessage(second)
                                + ")",
                        second);
                e.addSuppressed(first);
                throw e;
            }
        }
    }

    /**
     * The jobs without their {@value #SHADOWED_TO} key: a part that falls back lands where its shadows were going, so
     * those are dropped, and a comparison must not wait for them.
     */
    private static List<Job> unshadowed(List<Job> jobs) {
        List<Job> out = null;
        for (int i = 0; i < jobs.size(); i++) {
            Job j = jobs.get(i);
            if (j.extra().containsKey(SHADOWED_TO)) {
                if (out == null) {
                    out = new ArrayList<>(jobs);
                }
                Job.Builder b = j.toBuilder();
                b.removeExtra(SHADOWED_TO);
                out.set(i, b.build());
            }
        }
        return out == null ? jobs : out;
    }

    /**
     * Whether a failed Kafka write may still have landed: a timeout, or an error after the records were handed to the
     * producer. Only an open breaker or a spent limit (nothing was sent) and a refused payload are certain not to have.
     */
    private static boolean mayHaveLanded(Throwable t) {
        return !(t instanceof CallNotPermittedException)
                && !(t instanceof InvalidPayloadException)
                && !(t instanceof NothingSent);
    }

    /** A Kafka write not begun because the caller's limit was spent: certain not to have landed. */
    private static final class NothingSent extends EnqueueTimeoutException {
        NothingSent(String message) {
            super(Backend.KAFKA, message, null);
        }
    }

    /** Whether a failed Redis write did reach Redis (the master took it; a replica did not confirm it). */
    private static boolean storedOnRedis(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof EnqueueException e && e.stored()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Marks jobs whose Kafka copy may exist before their Redis copy is written, and holds that copy back by the fence
     * so every worker process has read the mark before it can run. @return when the Redis copy may run
     */
    private Instant markTwins(List<Job> jobs, Instant at) {
        List<String> jids = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            jids.add(j.jid());
        }
        try {
            twinMarks.mark(jids);
        } catch (TwinMarks.Unconfirmed e) {
            // The marks are on the master, where every guard reads them: the safe side is to treat the jobs as marked
            // (and fence the Redis copy), since skipping the fence would let both copies run even without a failover.
            log.warn(
                    "{} job(s) that may have a copy on each backend were marked, but no replica confirmed the mark "
                            + "({}); if Redis fails over before a replica has it they may run twice",
                    jobs.size(),
                    rootMessage(e));
        } catch (RuntimeException e) {
            log.warn(
                    "cannot mark {} job(s) that may have landed on Kafka too ({}); they go to Redis and may run "
                            + "twice",
                    jobs.size(),
                    rootMessage(e));
            return at;
        }
        if (twinFence.isZero() || twinMarks == TwinMarks.NONE) {
            return at;
        }
        Instant fenced = Instant.now().plus(twinFence);
        return at != null && at.isAfter(fenced) ? at : fenced;
    }

    /** One line per cause and second at most: an outage must not turn into a log flood. */
    private void logFallback(Backend from, Backend to, int jobs, String cause, Throwable error) {
        long now = System.nanoTime();
        AtomicLong last = lastFallbackLog.computeIfAbsent(from.id() + cause, k -> new AtomicLong(now - 2_000_000_000L));
        AtomicLong quiet = suppressedFallbacks.computeIfAbsent(from.id() + cause, k -> new AtomicLong());
        long prev = last.get();
        if (now - prev >= 1_000_000_000L && last.compareAndSet(prev, now)) {
            long suppressed = quiet.getAndSet(0);
            log.warn(
                    "{} enqueue of {} job(s) failed ({}: {}); sending them to {}{}",
                    from.id(),
                    jobs,
                    cause,
                    rootMessage(error),
                    to.id(),
                    suppressed > 0 ? " (" + suppressed + " more fallbacks in the last " + "second not logged)" : "");
        } else {
            quiet.addAndGet(jobs);
        }
    }

    private void routed(Backend chosen, Backend landed, int n) {
        try {
            routeListener.routed(chosen, landed, n);
        } catch (RuntimeException e) {
            log.debug("route listener failed: {}", e.toString());
        }
    }

    private void count(Backend b, int n) {
        (b == Backend.KAFKA ? toKafka : toRedis).increment(n);
    }

    private void shadow(Backend target, List<Job> copies, Instant at, List<MigrationOpTracking> ops, long deadline) {
        if (copies.isEmpty()) {
            return;
        }
        long started = start(ops);
        try {
            write(target, copies, at, deadline);
            ran(ops, target, started, false);
            shadows.increment(copies.size());
        } catch (RuntimeException e) {
            ran(ops, target, started, true);
            shadowFailures.increment(copies.size());
            log.warn(
                    "shadow copies of {} job(s) to {} not enqueued ({}); the authoritative copies are unaffected",
                    copies.size(),
                    target.id(),
                    rootMessage(e));
        }
    }

    /** Writes jobs to one backend, by {@code deadline} (System.nanoTime) unless it is {@link #NO_DEADLINE}. */
    private void write(Backend backend, List<Job> jobs, Instant at, long deadline) {
        if (backend == Backend.REDIS && deadline == NO_DEADLINE) {
            direct(redis, jobs, at);
            return;
        }
        List<Job> timed = at == null ? jobs : scheduled(jobs, at);
        if (backend == Backend.REDIS) {
            redis.enqueueAll(timed, left(deadline));
            return;
        }
        // The backend keeps to the limit on this thread, topic creation and metadata included (JobQueue's contract).
        Duration kafkaLimit = deadline == NO_DEADLINE ? limit : min(limit, left(deadline));
        if (kafkaLimit.isNegative() || kafkaLimit.isZero()) {
            // The caller's limit is spent: nothing is sent, and the breaker is not asked.
            throw new NothingSent(
                    "time limit spent before " + timed.size() + " job(s) were sent to Kafka; nothing sent");
        }
        breaker.acquirePermission();
        long start = breaker.getCurrentTimestamp();
        List<String> jids;
        try {
            jids = kafka.enqueueAll(timed, kafkaLimit);
        } catch (EnqueueTimeoutException e) {
            if (kafkaLimit.compareTo(limit) < 0) {
                // The caller's limit, shorter than kafkaTimeout, ran out: that says nothing about Kafka's health.
                breaker.releasePermission();
            } else {
                breaker.onError(breaker.getCurrentTimestamp() - start, breaker.getTimestampUnit(), e);
            }
            throw e;
        } catch (RuntimeException e) {
            breaker.onError(breaker.getCurrentTimestamp() - start, breaker.getTimestampUnit(), e);
            throw e;
        }
        breaker.onResult(breaker.getCurrentTimestamp() - start, breaker.getTimestampUnit(), jids);
    }

    /** Half of what is left until {@code deadline}: the chosen backend's share, so a fallback has the other half. */
    private static long firstHalf(long deadline) {
        if (deadline == NO_DEADLINE) {
            return NO_DEADLINE;
        }
        long now = System.nanoTime();
        return now + (deadline - now) / 2;
    }

    private static Duration left(long deadline) {
        return Duration.ofNanos(deadline - System.nanoTime());
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The jobs with {@code at} set: a job whose {@code at} is in the future is scheduled by enqueueAll. */
    private static List<Job> scheduled(List<Job> jobs, Instant at) {
        List<Job> out = new ArrayList<>(jobs.size());
        for (Job j : jobs) {
            out.add(j.toBuilder().at(at).build());
        }
        return out;
    }

    private static void direct(JobQueue queue, List<Job> jobs, Instant at) {
        if (at != null) {
            for (Job j : jobs) {
                queue.enqueueAt(j, at);
            }
        } else if (jobs.size() == 1) {
            queue.enqueue(jobs.get(0));
        } else {
            queue.enqueueAll(jobs);
        }
    }

    private static String causeOf(Throwable t) {
        if (t instanceof CallNotPermittedException) {
            return "circuit-open";
        }
        if (t instanceof EnqueueTimeoutException) {
            return "timeout";
        }
        return "error";
    }

    private static String rootMessage(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c == t ? String.valueOf(t.getMessage()) : t.getMessage() + " / " + c;
    }

    /** Does nothing: the router holds no threads or connections; the backends' queues and the flags are the caller's. */
    @Override
    public void close() {}
}
