package dev.crossfade.redis;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard;
import dev.crossfade.redis.internal.Failover;
import dev.crossfade.redis.internal.LuaScript;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.resps.StreamEntry;

/**
 * The run-once guard for jobs that may sit on both backends: one claim per jid in Redis
 * ({@code <namespace>crossfade:once:<jid>}), so at most one copy of a jid runs at a time across every process and
 * backend, and a jid that succeeded never runs again while it is remembered.
 *
 * <p><b>Only marked jobs are claimed.</b> A job gets a second copy only when the router falls back to Redis after a
 * Kafka write of unknown fate; the router marks such jobs first ({@link RedisBackend#twinMarks}) and holds their Redis
 * copy back by a fence. This guard follows the marks (about every 250 ms, one read per process) and claims only marked
 * jobs: every other job runs with no Redis round trip and leaves no key behind. A copy that started before its mark
 * was seen is claimed on its behalf when the mark arrives; one that already finished has its outcome written then
 * (finished runs are remembered in memory for {@code twinWindow}), so the fenced copy finds it.
 *
 * <p>The claim's value says where the jid stands:
 * <ul>
 *   <li>{@code run:<token>:<attempt>}: a copy is running. The token is unique to that run, so only its holder can
 *   release it (compare-and-set in a script). While the job runs, the claim is renewed every third of the lease;
 *   a claim whose process died expires after the lease, and the next copy then runs (never lost).</li>
 *   <li>{@code done}: a copy succeeded. Every later copy is acknowledged without running.</li>
 *   <li>{@code failed:<attempt>}: a copy failed and its retry policy owns the job now. A copy of that attempt or an
 *   earlier one is acknowledged without running; the retry (a later attempt) claims again.</li>
 * </ul>
 * {@code done} and {@code failed} are kept for {@code memory}, which must exceed the longest time a second copy can
 * wait in a queue. When Redis cannot be reached the job runs (at-least-once) and the guard logs it: refusing to run
 * would stop every worker for as long as Redis is down.
 *
 * <p><b>With {@code waitReplicas}</b>, a claim and an outcome are written with {@code WAIT} on the same connection, as
 * enqueues are, so a failover cannot take back what a copy relied on. When fewer replicas acknowledge in time, the
 * guard takes the side where a job cannot run twice unnoticed:
 * <ul>
 *   <li>a claim that would let a copy run is given back and the copy deferred ({@link Claim#IN_PROGRESS}, tried again
 *   after {@link #deferFor()}): marked jobs wait while the replicas do, as outcome writes do. A claim taken on behalf
 *   of a copy already running is kept (the run cannot be undone) and logged;</li>
 *   <li>an outcome ({@code done}, {@code failed}) stays on the master and is written again with {@code WAIT} every
 *   follow (about every 250 ms) until a replica acknowledges it or the memory has passed, following the master through
 *   a failover; it is logged when first unconfirmed and when confirmed.</li>
 * </ul>
 *
 * <p>Obtain one from {@link RedisBackend#runGuard(Duration, Duration)}. Thread-safe; {@link #close()} stops its
 * background thread.
 */
public final class RedisRunGuard implements RunGuard, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RedisRunGuard.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    // KEYS[1] claim; ARGV: token, attempt, lease ms. Returns RUN, DONE (acknowledge unrun) or BUSY.
    private static final LuaScript CLAIM = new LuaScript("run-once-claim", """
            local v = redis.call('GET', KEYS[1])
            local attempt = tonumber(ARGV[2])
            local function take()
              redis.call('SET', KEYS[1], 'run:' .. ARGV[1] .. ':' .. ARGV[2], 'PX', ARGV[3])
              return 'RUN'
            end
            if not v then return take() end
            if v == 'done' then return 'DONE' end
            local failed = string.match(v, '^failed:(%d+)$')
            if failed then
              if attempt > tonumber(failed) then return take() end
              return 'DONE'
            end
            return 'BUSY'
            """);
    // KEYS[1] claim; ARGV: value held ('' for a run that held none), outcome value, memory ms. Writes the outcome only
    // over our own claim or none (or over itself: an unconfirmed outcome written again), except 'done', which is the
    // truth whoever holds the claim (our lease may have lapsed while we ran).
    private static final LuaScript FINISH = new LuaScript("run-once-finish", """
            local v = redis.call('GET', KEYS[1])
            if ARGV[1] == '' and not v then
              redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
              return 1
            end
            if ARGV[2] == 'done' then
              redis.call('SET', KEYS[1], 'done', 'PX', ARGV[3])
              return 1
            end
            if v == ARGV[1] or v == ARGV[2] then
              redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
              return 1
            end
            return 0
            """);
    // KEYS[1] claim; ARGV: value held, lease ms. Extends the lease only while the claim is still ours.
    private static final LuaScript RENEW = new LuaScript("run-once-renew", """
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('PEXPIRE', KEYS[1], ARGV[2])
            end
            return 0
            """);

    // KEYS[1] claim; ARGV: value held. Gives back a claim no replica confirmed.
    private static final LuaScript RELEASE = new LuaScript("run-once-release", """
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              return redis.call('DEL', KEYS[1])
            end
            return 0
            """);

    /** How often marks are read; the router's fence must be well above it. */
    static final long FOLLOW_EVERY_MS = 250;

    private final UnifiedJedis redis;
    private final String prefix;
    private final Duration lease;
    private final Duration memory;
    private final Duration deferFor;
    private final String stream;
    private final Failover failover;
    /** Outcomes on the master that no replica confirmed yet, by claim key: written again each tick until one does. */
    private final Map<String, Unconfirmed> unconfirmed = new ConcurrentHashMap<>();
    /** Runs in progress in this process, by jid and thread (the core claims and finishes on one thread). */
    private final Map<String, Slot> running = new ConcurrentHashMap<>();
    /** Marked jids and when they were marked (epoch ms), for {@code memory}. */
    private final Map<String, Long> twins = new ConcurrentHashMap<>();
    /** Marked jids whose settling failed (Redis erred): settled again on every follow until it succeeds. */
    private final Set<String> unsettled = ConcurrentHashMap.newKeySet();

    private final RecentRuns recent;
    private final ScheduledExecutorService background;
    private String lastMark;
    private long lastRenewal = System.nanoTime();
    private volatile boolean followFailing;

    /**
     * A run in progress; its claim value is null while it runs unclaimed, and it is done once its run finished or it
     * did not get to run. Guarded by its own monitor, so a mark arriving as the run starts or ends is settled once.
     */
    private static final class Slot {
        final String jid;
        final String key;
        final int attempt;
        String value;
        boolean done;

        Slot(String jid, String key, int attempt, String value) {
            this.jid = jid;
            this.key = key;
            this.attempt = attempt;
            this.value = value;
        }
    }

    /** An outcome write waiting for a replica's acknowledgement, and since when (System.nanoTime). */
    private record Unconfirmed(String held, String outcome, String jid, long since) {}

    /** A script's answer, and whether the replicas acknowledged what it wrote (true when it wrote nothing to wait for). */
    private record Reply(Object answer, boolean confirmed) {}

    RedisRunGuard(
            UnifiedJedis redis,
            String namespace,
            Duration lease,
            Duration memory,
            Duration twinWindow,
            Failover failover) {
        this.redis = Objects.requireNonNull(redis, "redis");
        this.failover = Objects.requireNonNull(failover, "failover");
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(memory, "memory");
        if (lease.toMillis() < 1) {
            throw new IllegalArgumentException("run-once lease must be positive, got " + lease
                    + "; set it longer than your slowest job (default 2m)");
        }
        if (memory.compareTo(lease) < 0) {
            throw new IllegalArgumentException("run-once memory (" + memory + ") must be at least the lease (" + lease
                    + "); set it longer than the worst queue lag (default 1h)");
        }
        String ns = namespace == null ? "" : namespace;
        this.prefix = ns + "crossfade:once:";
        this.stream = twinStream(ns);
        this.lease = lease;
        this.memory = memory;
        this.deferFor = lease.dividedBy(4).toMillis() < 1 ? lease : lease.dividedBy(4);
        this.recent = new RecentRuns(twinWindow);
        this.background = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-run-once");
            t.setDaemon(true);
            return t;
        });
        background.scheduleWithFixedDelay(this::tick, 0, FOLLOW_EVERY_MS, TimeUnit.MILLISECONDS);
    }

    static String twinStream(String namespace) {
        return namespace + "crossfade:twins";
    }

    private String key(Job job) {
        return prefix + job.jid();
    }

    private static String slotKey(Job job) {
        return job.jid() + '\0' + Thread.currentThread().getId();
    }

    /** Whether this guard has read a mark for {@code jid}. */
    boolean knowsTwin(String jid) {
        return twins.containsKey(jid);
    }

    /** Whether the job must be claimed: it was marked, or it is a marked job's retry. */
    private boolean marked(Job job) {
        return twins.containsKey(job.jid());
    }

    @Override
    public Claim claim(Job job) {
        // In the running set before the mark check: a mark read after the check then finds this run and claims it.
        String k = slotKey(job);
        Slot slot = new Slot(job.jid(), key(job), job.attempt(), null);
        running.put(k, slot);
        if (!marked(job)) {
            return Claim.RUN;
        }
        synchronized (slot) {
            if (slot.value != null) {
                return Claim.RUN; // the mark's reader claimed it for this run already
            }
            Claim c = take(slot, true);
            if (c != Claim.RUN) {
                slot.done = true;
                running.remove(k);
            }
            return c;
        }
    }

    /**
     * Claims a slot's jid in Redis; on success the slot holds the claim's value.
     *
     * @param beforeRun the copy has not started: a claim no replica confirmed is given back and the copy deferred
     */
    private Claim take(Slot slot, boolean beforeRun) {
        byte[] t = new byte[12];
        RANDOM.nextBytes(t);
        String token = HexFormat.of().formatHex(t);
        Reply reply = evalAndWait(
                CLAIM,
                slot.key,
                List.of(bytes(token), bytes(Integer.toString(slot.attempt)), bytes(Long.toString(lease.toMillis()))),
                answer -> "RUN".equals(text(answer)));
        String a = text(reply.answer());
        String value = "run:" + token + ":" + slot.attempt;
        if ("RUN".equals(a) && !reply.confirmed()) {
            if (beforeRun) {
                RELEASE.eval(redis, List.of(bytes(slot.key)), List.of(bytes(value)));
                log.warn(
                        "run-once claim of job {} was not confirmed by {} replica(s) (waitReplicas), so a failover "
                                + "could lose it; the copy is deferred by {} rather than run on it",
                        slot.jid,
                        failover.replicas(),
                        deferFor);
                return Claim.IN_PROGRESS;
            }
            log.warn(
                    "run-once claim of job {}, taken for a copy already running here, was not confirmed by {} "
                            + "replica(s) (waitReplicas); if Redis fails over before a replica has it, another copy "
                            + "may run",
                    slot.jid,
                    failover.replicas());
        }
        return switch (a) {
            case "RUN" -> {
                slot.value = value;
                yield Claim.RUN;
            }
            case "DONE" -> Claim.ALREADY_DONE;
            default -> Claim.IN_PROGRESS;
        };
    }

    @Override
    public void finished(Job job, boolean succeeded) {
        String k = slotKey(job);
        Slot slot = running.get(k);
        String claimed = null;
        if (slot != null) {
            synchronized (slot) {
                slot.done = true;
                claimed = slot.value;
                if (claimed == null) {
                    // Unclaimed: remember the outcome in memory only, in case a mark for this jid is on its way.
                    // Recorded before the slot leaves the running set, so a mark's reader finds one or the other.
                    recent.record(job.jid(), job.attempt(), succeeded);
                }
                running.remove(k);
            }
            if (claimed == null) {
                return;
            }
        }
        write(key(job), claimed == null ? "" : claimed, succeeded, job.attempt(), job.jid());
    }

    private void write(String key, String held, boolean succeeded, int attempt, String jid) {
        String outcome = succeeded ? "done" : "failed:" + attempt;
        Reply reply = evalAndWait(
                FINISH,
                key,
                List.of(bytes(held), bytes(outcome), bytes(Long.toString(memory.toMillis()))),
                answer -> Long.valueOf(1).equals(answer));
        Object wrote = reply.answer();
        if (!reply.confirmed()) {
            unconfirmed.put(key, new Unconfirmed(held, outcome, jid, System.nanoTime()));
            log.warn(
                    "run-once outcome {} of job {} was not confirmed by {} replica(s) (waitReplicas); it is on the "
                            + "master and written again until a replica has it (a failover before then could let "
                            + "another copy run)",
                    outcome,
                    jid,
                    failover.replicas());
        }
        if (!succeeded && Long.valueOf(0).equals(wrote)) {
            log.warn(
                    "run-once claim of job {} attempt {} was no longer ours when it failed (its lease of {} lapsed); "
                            + "another copy may have run it",
                    jid,
                    attempt,
                    lease);
        }
    }

    /**
     * Runs {@code script} on one connection and, when {@code wrote} says its answer was a write and waitReplicas is on,
     * {@code WAIT}s on that connection (a {@code WAIT} on another one would not cover this write).
     */
    private Reply evalAndWait(LuaScript script, String key, List<byte[]> args, Predicate<Object> wrote) {
        List<byte[]> keys = List.of(bytes(key));
        try (AbstractPipeline p = redis.pipelined()) {
            Object answer = script.evalSynced(redis, p, keys, args);
            if (!wrote.test(answer)) {
                return new Reply(answer, true);
            }
            Response<Long> waited = failover.request(p);
            if (waited == null) {
                return new Reply(answer, true);
            }
            p.sync();
            try {
                failover.check(waited);
                return new Reply(answer, true);
            } catch (Failover.NotReplicated e) {
                return new Reply(answer, false);
            }
        }
    }

    /** Writes every unconfirmed outcome again, with one {@code WAIT} for them all; keeps them until a replica has them. */
    private void confirmOutcomes() {
        if (unconfirmed.isEmpty()) {
            return;
        }
        long now = System.nanoTime();
        unconfirmed.values().removeIf(u -> {
            if (now - u.since() <= memory.toNanos()) {
                return false;
            }
            log.warn(
                    "run-once outcome {} of job {} was never confirmed by a replica within {}; no longer tried",
                    u.outcome(),
                    u.jid(),
                    memory);
            return true;
        });
        List<Map.Entry<String, Unconfirmed>> pending = new ArrayList<>(unconfirmed.entrySet());
        if (pending.isEmpty()) {
            return;
        }
        try {
            FINISH.load(redis);
            byte[] ms = bytes(Long.toString(memory.toMillis()));
            List<Response<Object>> replies = new ArrayList<>(pending.size());
            Response<Long> waited;
            try (AbstractPipeline p = redis.pipelined()) {
                for (Map.Entry<String, Unconfirmed> e : pending) {
                    Unconfirmed u = e.getValue();
                    replies.add(FINISH.eval(
                            p, List.of(bytes(e.getKey())), List.of(bytes(u.held()), bytes(u.outcome()), ms)));
                }
                waited = failover.request(p);
                p.sync();
                failover.check(waited);
            }
            for (int i = 0; i < pending.size(); i++) {
                Map.Entry<String, Unconfirmed> e = pending.get(i);
                Unconfirmed u = e.getValue();
                unconfirmed.remove(e.getKey(), u);
                if (Long.valueOf(1).equals(replies.get(i).get())) {
                    log.info("run-once outcome {} of job {} is confirmed by a replica now", u.outcome(), u.jid());
                } else {
                    log.warn(
                            "run-once outcome {} of job {} could not be written again: another copy holds its claim "
                                    + "now (a failover lost the first write); it may run twice",
                            u.outcome(),
                            u.jid());
                }
            }
        } catch (Failover.NotReplicated e) {
            // Still on the master only: the next tick writes them again.
        } catch (Throwable e) {
            log.debug("cannot write unconfirmed run-once outcomes again yet: {}", e.toString());
        }
    }

    /** The background thread: follow marks often, renew claims every third of the lease. */
    private void tick() {
        try {
            follow();
            if (followFailing) {
                log.info("run-once guard reads twin marks again");
                followFailing = false;
            }
        } catch (Throwable e) {
            if (!followFailing) {
                log.warn(
                        "run-once guard cannot read twin marks ({}); jobs marked meanwhile run unclaimed until it can",
                        e.toString());
                followFailing = true;
            }
        }
        confirmOutcomes();
        if (System.nanoTime() - lastRenewal >= lease.toNanos() / 3) {
            lastRenewal = System.nanoTime();
            renewAll();
        }
    }

    /** Reads marks added since the last read, and settles this process's runs of newly marked jids. */
    private void follow() {
        if (lastMark == null) {
            // Start at the oldest mark still remembered, by the server's clock.
            List<?> time = (List<?>) redis.eval("return redis.call('TIME')");
            long nowMs = Long.parseLong(text(time.get(0))) * 1000 + Long.parseLong(text(time.get(1))) / 1000;
            lastMark = Math.max(0, nowMs - memory.toMillis()) + "-0";
        }
        long expireBefore = System.currentTimeMillis() - memory.toMillis();
        twins.values().removeIf(at -> at < expireBefore);
        unsettled.retainAll(twins.keySet());
        for (String jid : List.copyOf(unsettled)) {
            trySettle(jid);
        }
        for (; ; ) {
            List<StreamEntry> batch = redis.xrange(stream, "(" + lastMark, "+", 1_000);
            for (StreamEntry e : batch) {
                long at = e.getID().getTime();
                for (String jid : e.getFields().keySet()) {
                    if (twins.put(jid, at) == null) {
                        // In twins before it is settled (a claim starting now then claims itself); a failed settle
                        // is kept in unsettled and tried again, as the mark is not read twice.
                        trySettle(jid);
                    }
                }
                lastMark = e.getID().toString();
            }
            if (batch.size() < 1_000) {
                return;
            }
        }
    }

    private void trySettle(String jid) {
        try {
            settle(jid);
            unsettled.remove(jid);
        } catch (RuntimeException e) {
            if (unsettled.add(jid)) {
                log.warn(
                        "cannot settle the twin mark of job {} ({}); tried again every {} ms until it is",
                        jid,
                        e.toString(),
                        FOLLOW_EVERY_MS);
            }
        }
    }

    /** A jid was just marked: claim its run here if one is in progress, or write the outcome of one that finished. */
    private void settle(String jid) {
        for (Slot slot : running.values()) {
            if (!slot.jid.equals(jid)) {
                continue;
            }
            synchronized (slot) {
                if (slot.value == null && !slot.done) {
                    Claim c = take(slot, false);
                    if (c != Claim.RUN) {
                        log.warn(
                                "job {} was marked as having a second copy while it ran unclaimed here, and the "
                                        + "other copy holds the claim ({}); it may run twice",
                                jid,
                                c);
                    }
                }
            }
        }
        RecentRuns.Run run = recent.find(jid);
        if (run != null) {
            write(prefix + jid, "", run.succeeded(), run.attempt(), jid);
        }
    }

    private void renewAll() {
        try {
            List<Slot> now = new ArrayList<>();
            for (Slot s : running.values()) {
                if (s.value != null) {
                    now.add(s);
                }
            }
            if (now.isEmpty()) {
                return;
            }
            RENEW.load(redis);
            byte[] ms = bytes(Long.toString(lease.toMillis()));
            List<Response<Object>> replies = new ArrayList<>(now.size());
            try (AbstractPipeline p = redis.pipelined()) {
                for (Slot s : now) {
                    replies.add(RENEW.eval(p, List.of(bytes(s.key)), List.of(bytes(s.value), ms)));
                }
                p.sync();
            }
            for (int i = 0; i < now.size(); i++) {
                if (Long.valueOf(0).equals(replies.get(i).get()) && running.containsValue(now.get(i))) {
                    log.warn(
                            "run-once claim {} was lost while its job ran (lease {}); another copy may run it",
                            now.get(i).key,
                            lease);
                }
            }
        } catch (Throwable e) {
            // The next tick tries again; a lease survives two missed renewals.
            log.warn("cannot renew run-once claims: {}", e.toString());
        }
    }

    private static String text(Object reply) {
        return reply instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(reply);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public Duration deferFor() {
        return deferFor;
    }

    /** How long a running copy holds its claim without renewal. */
    public Duration lease() {
        return lease;
    }

    /** How long a finished jid is remembered. */
    public Duration memory() {
        return memory;
    }

    @Override
    public void close() {
        background.shutdownNow();
    }
}
