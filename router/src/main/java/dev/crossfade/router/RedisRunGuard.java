package dev.crossfade.router;

import dev.crossfade.api.Job;
import dev.crossfade.api.execution.RunGuard;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.SetParams;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Objects;

/**
 * The run-once guard used while a migration is on: a claim per job attempt in Redis
 * ({@code <namespace>crossfade:once:<jid>:<attempt>}), taken with {@code SET NX} before the worker runs.
 *
 * <p>A claim held by a running copy expires after {@code lease} (so a copy whose process died is run again by the next
 * delivery, never lost); a finished attempt is remembered for {@code doneTtl}, which must exceed the longest time a
 * duplicate can wait in a queue (consumer lag during the migration). Costs two Redis round trips per job.
 */
public final class RedisRunGuard implements RunGuard {
    private static final String DONE = "done";

    private final UnifiedJedis redis;
    private final String prefix;
    private final Duration lease;
    private final Duration doneTtl;
    private final Duration deferFor;
    private final String owner = "running:" + ManagementFactory.getRuntimeMXBean().getName();

    /**
     * @param namespace key prefix, the same one the Redis backend uses ("" for none)
     * @param lease     how long a running copy holds its claim (longer than your slowest job)
     * @param doneTtl   how long a finished attempt is remembered
     */
    public RedisRunGuard(UnifiedJedis redis, String namespace, Duration lease, Duration doneTtl) {
        this.redis = Objects.requireNonNull(redis, "redis");
        this.prefix = (namespace == null ? "" : namespace) + "crossfade:once:";
        this.lease = lease;
        this.doneTtl = doneTtl;
        this.deferFor = lease.dividedBy(4).isZero() ? lease : lease.dividedBy(4);
    }

    /** Lease 2 minutes, done markers kept 1 hour. */
    public RedisRunGuard(UnifiedJedis redis, String namespace) {
        this(redis, namespace, Duration.ofMinutes(2), Duration.ofHours(1));
    }

    private String key(Job job) {
        return prefix + job.jid() + ":" + job.attempt();
    }

    @Override
    public Claim claim(Job job) {
        String key = key(job);
        if ("OK".equals(redis.set(key, owner, SetParams.setParams().nx().px(lease.toMillis())))) {
            return Claim.RUN;
        }
        String holder = redis.get(key);
        if (holder == null) {
            // Expired between the two calls: try once more rather than defer for nothing.
            return "OK".equals(redis.set(key, owner, SetParams.setParams().nx().px(lease.toMillis())))
                    ? Claim.RUN : Claim.IN_PROGRESS;
        }
        return DONE.equals(holder) ? Claim.ALREADY_DONE : Claim.IN_PROGRESS;
    }

    @Override
    public void finished(Job job, boolean succeeded) {
        if (succeeded) {
            redis.set(key(job), DONE, SetParams.setParams().px(doneTtl.toMillis()));
        } else {
            redis.del(key(job));
        }
    }

    @Override
    public Duration deferFor() {
        return deferFor;
    }
}
