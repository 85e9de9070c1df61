package dev.crossfade.redis;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.redis.internal.Backoff;
import dev.crossfade.redis.internal.Failover;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.WireFormat;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Connection;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.RedisSentinelClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;
import redis.clients.jedis.util.Pool;

/**
 * The producer side, writing exactly what Ruby's {@code Sidekiq::Client} writes, so Ruby and Java workers consume each
 * other's jobs: {@code SADD queues <q>} plus {@code LPUSH queue:<q> <json>} with {@code enqueued_at} set, and for
 * scheduled jobs {@code ZADD schedule <epoch seconds> <json>} without the {@code at} key (Sidekiq drops it there too:
 * the score is the schedule).
 *
 * <p>Every call is one round trip (a pipeline; {@link #enqueueAll} sends all jobs in one), and returns only after Redis
 * replied (and, with {@code waitReplicas}, after that many replicas have the write). A write Redis refuses because it is
 * failing over ({@code READONLY} from a demoted master, {@code MASTERDOWN}, {@code LOADING}) is tried again with backoff
 * for up to the socket timeout, as nothing of it was stored. Thread-safe; obtained from {@link RedisBackend#queue()}, whose connection pool it shares.
 */
public final class RedisJobQueue implements JobQueue {
    /** Arguments per LPUSH/ZADD command: bounds one command's size without adding round trips. */
    private static final int CHUNK = 1_000;

    /** Hands broken connections back to their pool; see {@link #enqueueAll(List, Duration)}. */
    private static final Executor DISCARDS = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "crossfade-redis-discard");
        t.setDaemon(true);
        return t;
    });

    private final UnifiedJedis redis;
    private final Keys keys;
    private final WireFormat wire;
    private final String where;
    private final Failover failover;
    private final Duration refusalBudget;
    private final Duration maxBackoff;

    RedisJobQueue(UnifiedJedis redis, Keys keys, WireFormat wire, RedisBackendConfig config) {
        this.redis = redis;
        this.keys = keys;
        this.wire = wire;
        this.where = config.redactedUrl();
        this.failover = new Failover(config);
        this.refusalBudget = config.socketTimeout();
        this.maxBackoff = config.maxReconnectBackoff();
    }

    @Override
    public String enqueue(Job job) {
        Objects.requireNonNull(job, "job");
        enqueueAll(List.of(job));
        return job.jid();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Jobs may target different queues; a job whose {@link Job#at()} is in the future goes to the schedule. Every
     * payload is encoded (and size-checked) before anything is sent.
     */
    @Override
    public List<String> enqueueAll(List<Job> jobs) {
        Objects.requireNonNull(jobs, "jobs");
        if (jobs.isEmpty()) {
            return List.of();
        }
        Batch batch = new Batch(jobs);
        write(batch.describe(), batch::queue);
        return batch.jids;
    }

    /**
     * {@inheritDoc}
     *
     * <p>The limit bounds the wait for a pooled connection and each wait for Redis's replies (the connection's read
     * timeout is set to what is left of it for this call), behind Sentinel too (the current master's pool). A
     * connection that timed out is discarded, since its reply may still come.
     */
    @Override
    public List<String> enqueueAll(List<Job> jobs, Duration limit) {
        Objects.requireNonNull(jobs, "jobs");
        long deadline = EnqueueTimeoutException.deadline(Backend.REDIS, limit, jobs.size());
        if (jobs.isEmpty()) {
            return List.of();
        }
        Batch batch = new Batch(jobs);
        Pool<Connection> pool = writePool();
        if (pool == null) {
            // A client without a pool to borrow from (none today): its own timeouts bound the call.
            return enqueueAll(jobs);
        }
        Connection c;
        try {
            c = pool.borrowObject(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (NoSuchElementException e) {
            throw new EnqueueTimeoutException(
                    Backend.REDIS,
                    "no Redis connection free at " + where + " within the time limit " + limit + "; nothing sent",
                    e);
        } catch (Exception e) {
            throw batch.failure(e);
        }
        int soTimeout = c.getSoTimeout();
        try {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new EnqueueTimeoutException(
                        Backend.REDIS, "time limit " + limit + " spent waiting for a connection; nothing sent", null);
            }
            c.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(left))));
            Pipeline p = new Pipeline(c);
            List<Response<?>> replies = new ArrayList<>();
            batch.queue(p, replies);
            send(p, replies);
        } catch (JedisException e) {
            throw batch.failure(e);
        } finally {
            // A connection that timed out is broken (its reply may still come): the pool discards it, and replaces it
            // at once with a new one, whose handshake waits for the server: off the caller's thread.
            if (c.isBroken()) {
                DISCARDS.execute(() -> pool.returnBrokenResource(c));
            } else {
                c.setSoTimeout(soTimeout);
                pool.returnResource(c);
            }
        }
        return batch.jids;
    }

    /** The pool writes go through: the client's own, or behind Sentinel the current master's; null for neither. */
    private Pool<Connection> writePool() {
        if (redis instanceof RedisClient client) {
            return client.getPool();
        }
        if (redis instanceof RedisSentinelClient sentinel) {
            // One entry, the master the sentinels named last; a failover replaces it.
            return sentinel.getPrimaryNodesConnectionMap().values().stream()
                    .findFirst()
                    .orElse(null);
        }
        return null;
    }

    /** Jobs encoded for one pipeline: every payload encoded (and size-checked) before anything is sent. */
    private final class Batch {
        final Map<String, List<byte[]>> byQueue = new LinkedHashMap<>();
        final Map<byte[], Double> scheduled = new LinkedHashMap<>();
        final List<String> jids;
        final int size;

        Batch(List<Job> jobs) {
            Instant now = Instant.now();
            JobCodec codec = wire.codec();
            jids = new ArrayList<>(jobs.size());
            size = jobs.size();
            for (Job job : jobs) {
                Objects.requireNonNull(job, "job in list");
                if (job.at() != null && job.at().isAfter(now)) {
                    refuseScheduledShadow(job);
                    scheduled.put(codec.encode(scheduledCopy(job, job.at())), epochSeconds(job.at()));
                } else {
                    byte[] json = codec.encodeEnqueued(job, now);
                    // A shadow copy must never reach Ruby Sidekiq, which would run it for real.
                    String q = job.shadow() ? Keys.shadowQueue(job.queue()) : job.queue();
                    byQueue.computeIfAbsent(q, k -> new ArrayList<>()).add(json);
                }
                jids.add(job.jid());
            }
        }

        void queue(AbstractPipeline p, List<Response<?>> replies) {
            for (Map.Entry<String, List<byte[]>> e : byQueue.entrySet()) {
                if (!Keys.isShadowQueue(e.getKey())) {
                    replies.add(p.sadd(keys.queues(), e.getKey()));
                }
                byte[] queueKey = Keys.bytes(keys.queue(e.getKey()));
                List<byte[]> payloads = e.getValue();
                for (int i = 0; i < payloads.size(); i += CHUNK) {
                    replies.add(p.lpush(
                            queueKey,
                            payloads.subList(i, Math.min(payloads.size(), i + CHUNK))
                                    .toArray(new byte[0][])));
                }
            }
            if (!scheduled.isEmpty()) {
                replies.add(p.zadd(Keys.bytes(keys.schedule()), scheduled));
            }
        }

        String describe() {
            String op = byQueue.isEmpty()
                    ? "ZADD " + keys.schedule()
                    : "LPUSH " + keys.queue(byQueue.keySet().iterator().next())
                            + (byQueue.size() > 1 ? " (and " + (byQueue.size() - 1) + " more queues)" : "");
            return op + " of " + size + " job(s)";
        }

        EnqueueException failure(Exception e) {
            return RedisJobQueue.this.failure(describe(), e);
        }
    }

    /** The commands one write queues in its pipeline, adding each reply to the list. */
    private interface Writes {
        void queue(AbstractPipeline p, List<Response<?>> replies);
    }

    /**
     * Sends {@code writes} in one pipeline (plus {@code WAIT} when waitReplicas is on) and reads every reply; tries again
     * while Redis refuses the write for a failover, within the socket timeout.
     *
     * @throws EnqueueException naming {@code what} and the server when the write was not acknowledged
     */
    private void write(String what, Writes writes) {
        long giveUpAt = System.nanoTime() + refusalBudget.toNanos();
        Backoff backoff = new Backoff(maxBackoff);
        while (true) {
            List<Response<?>> replies = new ArrayList<>();
            try (AbstractPipeline p = redis.pipelined()) {
                writes.queue(p, replies);
                send(p, replies);
                return;
            } catch (JedisException e) {
                if (Failover.isRefusal(e) && System.nanoTime() - giveUpAt < 0 && backoff.pause()) {
                    continue;
                }
                throw failure(what, e);
            }
        }
    }

    /** Adds {@code WAIT} when waitReplicas is on, syncs, and reads every reply. */
    private void send(AbstractPipeline p, List<Response<?>> replies) {
        Response<Long> waited = failover.request(p);
        p.sync();
        // sync() does not throw for error replies (LOADING right after a restart, OOM, READONLY...): each reply must be
        // read, or a job Redis refused would be reported as enqueued.
        replies.forEach(Response::get);
        failover.check(waited);
    }

    private EnqueueException failure(String what, Exception e) {
        String message = what + " at " + where + " failed: " + e.getMessage();
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SocketTimeoutException) {
                return new EnqueueTimeoutException(Backend.REDIS, message + " (the jobs may still arrive)", e);
            }
            if (t instanceof Failover.NotReplicated) {
                return new EnqueueException(Backend.REDIS, message + " (the jobs are on the master)", e, true);
            }
        }
        return new EnqueueException(Backend.REDIS, message, e);
    }

    /**
     * Sidekiq's scheduler (Ruby's included) moves a due job to the queue its JSON names, where Ruby would run a shadow
     * copy for real; so shadow copies are not scheduled on Redis.
     */
    private static void refuseScheduledShadow(Job job) {
        if (job.shadow()) {
            throw new IllegalArgumentException("job " + job.jid() + " is a shadow copy: shadow copies are not "
                    + "scheduled on Redis, where Ruby Sidekiq's scheduler would run them for real");
        }
    }

    @Override
    public String enqueueAt(Job job, Instant at) {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(at, "at");
        if (!at.isAfter(Instant.now())) {
            return enqueue(job.toBuilder().at(null).build());
        }
        refuseScheduledShadow(job);
        byte[] json = wire.codec().encode(scheduledCopy(job, at));
        write(
                "ZADD " + keys.schedule() + " of job " + job.jid(),
                (p, replies) -> replies.add(p.zadd(Keys.bytes(keys.schedule()), epochSeconds(at), json)));
        return job.jid();
    }

    /**
     * The schedule entry: no {@code at} (the score is the time, as in Sidekiq), and {@code enqueued_at} set to the time
     * it becomes due, because the poller moves the payload to its queue unchanged (rewriting JSON inside Lua would
     * alter big numbers in args).
     */
    private static Job scheduledCopy(Job job, Instant at) {
        return job.toBuilder().at(null).enqueuedAt(at).build();
    }

    static double epochSeconds(Instant t) {
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    /** Does nothing: the connection pool belongs to the {@link RedisBackend}, which closes it. */
    @Override
    public void close() {}
}
