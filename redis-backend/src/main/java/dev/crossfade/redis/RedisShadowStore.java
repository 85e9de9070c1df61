package dev.crossfade.redis;

import dev.crossfade.api.execution.ShadowStore;
import dev.crossfade.redis.internal.LuaScript;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.UnifiedJedis;

/**
 * The shadow comparison's shared store in Redis: sides waiting for their partner in a hash
 * ({@code <namespace>crossfade:shadow:pending}, field {@code <jid>|<role>}) indexed by time in a sorted set, jids
 * already paired in a second sorted set (to tell a duplicate run from a new side), counters in a hash and mismatch
 * examples in a capped list. Everything is bounded: pending sides are taken as missing after the comparator's grace,
 * and paired jids are forgotten after {@code memory}.
 */
final class RedisShadowStore implements ShadowStore {
    // KEYS: pending hash, since zset, paired zset. ARGV: jid, role, other role, json, now ms, forget-before ms.
    private static final LuaScript PAIR = new LuaScript("shadow-pair", """
            redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[6])
            local mine = ARGV[1] .. '|' .. ARGV[2]
            local other = ARGV[1] .. '|' .. ARGV[3]
            if redis.call('HEXISTS', KEYS[1], mine) == 1 then return {'DUPLICATE'} end
            local o = redis.call('HGET', KEYS[1], other)
            if o then
              redis.call('HDEL', KEYS[1], other)
              redis.call('ZREM', KEYS[2], ARGV[1])
              redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
              return {'PAIRED', o}
            end
            if redis.call('ZSCORE', KEYS[3], ARGV[1]) then return {'DUPLICATE'} end
            redis.call('HSET', KEYS[1], mine, ARGV[4])
            redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[1])
            return {'WAITING'}
            """);
    // KEYS: pending hash, since zset, paired zset. ARGV: cutoff ms, now ms. Returns jid, role pairs of the sides
    // taken; their jids count as settled, so a late side is a duplicate rather than a new pair.
    private static final LuaScript OVERDUE = new LuaScript("shadow-overdue", """
            local out = {}
            local jids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, 1000)
            for _, jid in ipairs(jids) do
              redis.call('ZREM', KEYS[2], jid)
              redis.call('ZADD', KEYS[3], ARGV[2], jid)
              for _, role in ipairs({'primary', 'shadow'}) do
                if redis.call('HDEL', KEYS[1], jid .. '|' .. role) == 1 then
                  table.insert(out, jid)
                  table.insert(out, role)
                end
              end
            end
            return out
            """);

    private final UnifiedJedis redis;
    private final String pending;
    private final String since;
    private final String paired;
    private final String stats;
    private final String examples;
    private final Duration memory;

    RedisShadowStore(UnifiedJedis redis, String prefix, Duration memory) {
        this.redis = redis;
        String base = prefix + "crossfade:shadow:";
        this.pending = base + "pending";
        this.since = base + "since";
        this.paired = base + "paired";
        this.stats = base + "stats";
        this.examples = base + "examples";
        this.memory = memory;
    }

    @Override
    public Paired pair(String jid, String role, String other, String json, Instant at) {
        long now = at.toEpochMilli();
        List<?> reply = (List<?>) PAIR.eval(
                redis,
                List.of(b(pending), b(since), b(paired)),
                List.of(
                        b(jid),
                        b(role),
                        b(other),
                        b(json),
                        b(Long.toString(now)),
                        b(Long.toString(now - memory.toMillis()))));
        Paired.Kind kind = Paired.Kind.valueOf(text(reply.get(0)));
        return new Paired(kind, reply.size() > 1 ? text(reply.get(1)) : null);
    }

    @Override
    public Map<String, String> takeOverdue(Instant cutoff) {
        List<?> reply = (List<?>) OVERDUE.eval(
                redis,
                List.of(b(pending), b(since), b(paired)),
                List.of(b(Long.toString(cutoff.toEpochMilli())), b(Long.toString(System.currentTimeMillis()))));
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i + 1 < reply.size(); i += 2) {
            out.put(text(reply.get(i)), text(reply.get(i + 1)));
        }
        return out;
    }

    @Override
    public void count(String counter, long delta) {
        redis.hincrBy(stats, counter, delta);
    }

    @Override
    public Map<String, Long> counters() {
        Map<String, Long> out = new LinkedHashMap<>();
        redis.hgetAll(stats).forEach((k, v) -> out.put(k, Long.parseLong(v)));
        return out;
    }

    @Override
    public long pending() {
        return redis.zcard(since);
    }

    @Override
    public void example(String json, int max) {
        redis.rpush(examples, json);
        redis.ltrim(examples, -max, -1);
    }

    @Override
    public List<String> examples() {
        return redis.lrange(examples, 0, -1);
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String text(Object reply) {
        return reply instanceof byte[] bytes ? new String(bytes, StandardCharsets.UTF_8) : String.valueOf(reply);
    }
}
