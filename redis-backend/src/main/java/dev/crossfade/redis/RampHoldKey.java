package dev.crossfade.redis;

import redis.clients.jedis.UnifiedJedis;

/**
 * The hold a guarded rollout's rollback leaves in Redis ({@code <namespace>crossfade:ramp:hold}, its reason as the
 * value, until cleared): every router that follows it ({@link RedisRampHold}) sends all jobs to Redis while it is set.
 */
public final class RampHoldKey {
    private final UnifiedJedis redis;
    private final String key;

    RampHoldKey(UnifiedJedis redis, String prefix) {
        this.redis = redis;
        this.key = prefix + "crossfade:ramp:hold";
    }

    /** Keeps every router on Redis until {@link #clear()}. */
    public void set(String why) {
        redis.set(key, why);
    }

    /** Why routers are held on Redis, or null. */
    public String reason() {
        return redis.get(key);
    }

    public void clear() {
        redis.del(key);
    }
}
