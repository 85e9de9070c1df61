package dev.crossfade.redis;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard;
import dev.crossfade.redis.internal.LuaScript;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The run-once guard for jobs that may sit on both backends: one claim per jid in Redis
 * ({@code <namespace>crossfade:once:<jid>}), so at most one copy of a jid runs at a time across every process and
 * backend, and a jid that succeeded never runs again while it is remembered.
 *
 * <p>The claim's value says where the jid stands:
 * <ul>
 *   <li>{@code run:<token>:<attempt>}: a copy is running. The token is unique to that run, so only its holder can
 *   release it (compare-and-delete in a script). While the job runs, the claim is renewed every third of the lease;
 *   a claim whose process died expires after the lease, and the next copy then runs (never lost).</li>
 *   <li>{@code done}: a copy succeeded. Every later copy is acknowledged without running.</li>
 *   <li>{@code failed:<attempt>}: a copy failed and its retry policy owns the job now. A copy of that attempt or an
 *   earlier one is acknowledged without running; the retry (a later attempt) claims again.</li>
 * </ul>
 * {@code done} and {@code failed} are kept for {@code memory}, which must exceed the longest time a second copy can
 * wait in a queue. When Redis cannot be reached the job runs (at-least-once) and the guard logs it: refusing to run
 * would stop every worker for as long as Redis is down.
 *
 * <p>Obtain one from {@link RedisBackend#runGuard(Duration, Duration)}. Thread-safe; {@link #close()} stops renewal.
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
    // KEYS[1] claim; ARGV: value held, outcome value, memory ms. Writes the outcome only over our own claim, except
    // 'done', which is the truth whoever holds the claim (our lease may have lapsed while we ran).
    private static final LuaScript FINISH = new LuaScript("run-once-finish", """
            local v = redis.call('GET', KEYS[1])
            if ARGV[2] == 'done' then
              redis.call('SET', KEYS[1], 'done', 'PX', ARGV[3])
              return 1
            end
            if v == ARGV[1] then
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

    private final UnifiedJedis redis;
    private final String prefix;
    private final Duration lease;
    private final Duration memory;
    private final Duration deferFor;
    /** Claims this process holds, by jid and thread (the core claims and finishes on one thread). */
    private final Map<String, Held> held = new ConcurrentHashMap<>();
    private final ScheduledExecutorService renewer;

    private record Held(String key, String value) {
    }

    RedisRunGuard(UnifiedJedis redis, String namespace, Duration lease, Duration memory) {
        this.redis = Objects.requireNonNull(redis, "redis");
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(memory, "memory");
        if (lease.toMillis() < 1) {
            throw new IllegalArgumentException("run-once lease must be positive, got " + lease
                    + "; set it longer than your slowest job (default 2m)");
        }
        if (memory.compareTo(lease) < 0) {
            throw new IllegalArgumentException("run-once memory (" + memory + ") must be at least the lease ("
                    + lease + "); set it longer than the worst queue lag (default 1h)");
        }
        this.prefix = (namespace == null ? "" : namespace) + "crossfade:once:";
        this.lease = lease;
        this.memory = memory;
        this.deferFor = lease.dividedBy(4).toMillis() < 1 ? lease : lease.dividedBy(4);
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-run-once-renewal");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1, lease.toMillis() / 3);
        renewer.scheduleWithFixedDelay(this::renewAll, every, every, TimeUnit.MILLISECONDS);
    }

    private String key(Job job) {
        return prefix + job.jid();
    }

    private static String heldKey(Job job) {
        return job.jid() + '\0' + Thread.currentThread().getId();
    }

    @Override
    public Claim claim(Job job) {
        byte[] t = new byte[12];
        RANDOM.nextBytes(t);
        String token = HexFormat.of().formatHex(t);
        String key = key(job);
        Object answer = CLAIM.eval(redis, List.of(bytes(key)), List.of(bytes(token),
                bytes(Integer.toString(job.attempt())), bytes(Long.toString(lease.toMillis()))));
        String a = answer instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(answer);
        return switch (a) {
            case "RUN" -> {
                held.put(heldKey(job), new Held(key, "run:" + token + ":" + job.attempt()));
                yield Claim.RUN;
            }
            case "DONE" -> Claim.ALREADY_DONE;
            default -> Claim.IN_PROGRESS;
        };
    }

    @Override
    public void finished(Job job, boolean succeeded) {
        Held h = held.remove(heldKey(job));
        String value = h == null ? "" : h.value();
        String outcome = succeeded ? "done" : "failed:" + job.attempt();
        Object wrote = FINISH.eval(redis, List.of(bytes(key(job))), List.of(bytes(value), bytes(outcome),
                bytes(Long.toString(memory.toMillis()))));
        if (!succeeded && Long.valueOf(0).equals(wrote)) {
            log.warn("run-once claim of job {} attempt {} was no longer ours when it failed (its lease of {} lapsed); "
                    + "another copy may have run it", job.jid(), job.attempt(), lease);
        }
    }

    private void renewAll() {
        try {
            if (held.isEmpty()) {
                return;
            }
            List<Held> now = new ArrayList<>(held.values());
            List<Response<Object>> replies = new ArrayList<>(now.size());
            RENEW.load(redis);
            byte[] ms = bytes(Long.toString(lease.toMillis()));
            try (AbstractPipeline p = redis.pipelined()) {
                for (Held h : now) {
                    replies.add(RENEW.eval(p, List.of(bytes(h.key())), List.of(bytes(h.value()), ms)));
                }
                p.sync();
            }
            for (int i = 0; i < now.size(); i++) {
                if (Long.valueOf(0).equals(replies.get(i).get()) && held.containsValue(now.get(i))) {
                    log.warn("run-once claim {} was lost while its job ran (lease {}); another copy may run it",
                            now.get(i).key(), lease);
                }
            }
        } catch (Throwable e) {
            // The next tick tries again; a lease survives two missed renewals.
            log.warn("cannot renew run-once claims: {}", e.toString());
        }
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
        renewer.shutdownNow();
    }
}
