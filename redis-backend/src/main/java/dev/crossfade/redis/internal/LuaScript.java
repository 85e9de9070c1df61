package dev.crossfade.redis.internal;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisNoScriptException;

/**
 * A Lua script run with {@code EVALSHA}, loaded on demand. The SHA is computed locally, so the first call needs no
 * {@code SCRIPT LOAD} round trip; a {@code NOSCRIPT} reply (first use, or a Redis restart that dropped the script
 * cache) loads the script and retries once. Thread-safe.
 */
public final class LuaScript {
    private final String name;
    private final String source;
    private final byte[] sha;

    public LuaScript(String name, String source) {
        this.name = name;
        this.source = source;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-1").digest(source.getBytes(StandardCharsets.UTF_8));
            this.sha = HexFormat.of().formatHex(digest).getBytes(StandardCharsets.US_ASCII);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is required by the JDK spec", e);
        }
    }

    public String name() {
        return name;
    }

    /** Runs the script, loading it first if Redis does not have it. */
    public Object eval(UnifiedJedis redis, List<byte[]> keys, List<byte[]> args) {
        try {
            return redis.evalsha(sha, keys, args);
        } catch (JedisNoScriptException e) {
            load(redis);
            return redis.evalsha(sha, keys, args);
        } catch (JedisDataException e) {
            if (isNoScript(e)) {
                load(redis);
                return redis.evalsha(sha, keys, args);
            }
            throw e;
        }
    }

    /** Queues the script in a pipeline; callers must {@link #load} before, and retry on {@link #isNoScript}. */
    public Response<Object> eval(AbstractPipeline pipeline, List<byte[]> keys, List<byte[]> args) {
        return pipeline.evalsha(sha, keys, args);
    }

    /**
     * Runs the script through {@code pipeline} and syncs it, loading the script first if Redis does not have it, so
     * that what follows in the pipeline (a {@code WAIT}) runs on the connection that ran the script.
     */
    public Object evalSynced(UnifiedJedis redis, AbstractPipeline pipeline, List<byte[]> keys, List<byte[]> args) {
        Response<Object> r = pipeline.evalsha(sha, keys, args);
        pipeline.sync();
        try {
            return r.get();
        } catch (JedisDataException e) {
            if (!isNoScript(e)) {
                throw e;
            }
            load(redis);
            r = pipeline.evalsha(sha, keys, args);
            pipeline.sync();
            return r.get();
        }
    }

    public void load(UnifiedJedis redis) {
        redis.scriptLoad(source);
    }

    /** Whether an error is Redis saying it does not know a script (its cache is empty after a restart). */
    public static boolean isNoScript(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof JedisNoScriptException
                    || (t.getMessage() != null && t.getMessage().startsWith("NOSCRIPT"))) {
                return true;
            }
        }
        return false;
    }
}
