package dev.crossfade.cli.ramp;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.redis.RampHoldKey;
import dev.crossfade.redis.RedisBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.SetParams;

/**
 * A guarded rollout's state in Redis, so a ramp outlives the process that drives it and every process can show it:
 * the plan and where it stands ({@code crossfade:ramp:state}), the decision log ({@code crossfade:ramp:log}, newest
 * first, the last {@value #LOG_SIZE}), the driver's lease ({@code crossfade:ramp:lease}: a random token with a TTL,
 * renewed while driving, deleted only by its holder) and the hold that keeps routers on Redis after a rollback
 * ({@link RampHoldKey}, until cleared). State is written only by the lease's holder, checked in the same
 * script, so a driver that lost its lease cannot overwrite its successor's progress.
 */
public final class RampStore {
    static final int LOG_SIZE = 200;
    private static final ObjectMapper JSON = new ObjectMapper();

    private static final String RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then "
            + "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
    private static final String RELEASE =
            "if redis.call('get', KEYS[1]) == ARGV[1] then " + "return redis.call('del', KEYS[1]) else return 0 end";
    /** HSET of the fields in ARGV[2..] as pairs, only while ARGV[1] holds the lease. */
    private static final String SAVE = "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end "
            + "for i = 2, #ARGV, 2 do redis.call('hset', KEYS[2], ARGV[i], ARGV[i + 1]) end return 1";

    private final UnifiedJedis redis;
    private final String state;
    private final String log;
    private final String lease;
    private final RampHoldKey hold;

    /** The store in this backend's Redis, under its namespace ({@code <namespace>:crossfade:ramp:...}). */
    public RampStore(RedisBackend backend) {
        this.redis = backend.redis();
        this.state = backend.key("crossfade:ramp:state");
        this.log = backend.key("crossfade:ramp:log");
        this.lease = backend.key("crossfade:ramp:lease");
        this.hold = backend.rampHoldKey();
    }

    /** Takes the lease for {@code ttl} if nobody holds it. */
    public boolean acquire(String token, Duration ttl) {
        return "OK".equals(redis.set(lease, token, SetParams.setParams().nx().px(ttl.toMillis())));
    }

    /** Extends the lease if {@code token} still holds it; false when it was lost. */
    public boolean renew(String token, Duration ttl) {
        Object r = redis.eval(RENEW, List.of(lease), List.of(token, Long.toString(ttl.toMillis())));
        return r instanceof Long l && l == 1L;
    }

    /** Gives the lease up if {@code token} holds it (compare and delete). */
    public void release(String token) {
        redis.eval(RELEASE, List.of(lease), List.of(token));
    }

    /** The plan and position, or an empty map when no ramp was ever started. */
    public Map<String, String> state() {
        return redis.hgetAll(state);
    }

    /** Writes state fields while {@code token} holds the lease; false when it does not. */
    public boolean save(String token, Map<String, String> fields) {
        List<String> args = new ArrayList<>();
        args.add(token);
        fields.forEach((k, v) -> {
            args.add(k);
            args.add(v);
        });
        Object r = redis.eval(SAVE, List.of(lease, state), args);
        return r instanceof Long l && l == 1L;
    }

    /** Appends a decision to the log. */
    public void record(Map<String, Object> decision) {
        try {
            String line = JSON.writeValueAsString(decision);
            redis.lpush(log, line);
            redis.ltrim(log, 0, LOG_SIZE - 1);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The newest {@code max} decisions, newest first. */
    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> decisions(int max) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : redis.lrange(log, 0, max - 1)) {
            try {
                out.add(JSON.readValue(line, LinkedHashMap.class));
            } catch (JsonProcessingException e) {
                out.add(Map.of("message", line));
            }
        }
        return out;
    }

    /** Keeps every router on Redis until {@link #clearHold()}. */
    public void hold(String why) {
        hold.set(why);
    }

    /** Why routers are held on Redis, or null. */
    public String holdReason() {
        return hold.reason();
    }

    public void clearHold() {
        hold.clear();
    }

    /** Forgets a finished ramp's plan (the log stays), so a new one can start. */
    public void forget() {
        redis.del(state);
    }
}
