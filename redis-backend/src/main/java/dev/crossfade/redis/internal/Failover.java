package dev.crossfade.redis.internal;

import dev.crossfade.redis.RedisBackendConfig;
import java.util.List;
import java.util.Locale;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisException;

/**
 * What the write paths do about a replica taking over: {@code WAIT} for {@code waitReplicas} replicas after a write (so
 * the write survives the master's loss), and telling apart the replies a server gives while a failover is under way,
 * which refuse a write without doing any of it and are worth trying again shortly. Thread-safe.
 */
public final class Failover {
    /** Replies that refuse a write as a whole while a failover or a restart is under way. */
    private static final List<String> REFUSALS = List.of("READONLY", "MASTERDOWN", "LOADING", "TRYAGAIN");

    private final int replicas;
    private final long timeoutMillis;

    public Failover(RedisBackendConfig config) {
        this.replicas = config.waitReplicas();
        this.timeoutMillis = config.waitTimeout().toMillis();
    }

    /** How many replicas each write waits for; 0 when off. */
    public int replicas() {
        return replicas;
    }

    /** Queues {@code WAIT} behind the writes in {@code p}; null when waitReplicas is off. */
    public Response<Long> request(AbstractPipeline p) {
        if (replicas == 0) {
            return null;
        }
        // Only the standalone/Sentinel pipeline has the key-less form; the key of the other only routes in a cluster.
        return p instanceof Pipeline pipeline
                ? pipeline.waitReplicas(replicas, timeoutMillis)
                : p.waitReplicas("", replicas, timeoutMillis);
    }

    /**
     * Reads the reply of {@link #request} after the pipeline's sync.
     *
     * @throws NotReplicated when fewer replicas than asked acknowledged the writes in time
     */
    public void check(Response<Long> waited) {
        if (waited == null) {
            return;
        }
        long got = waited.get();
        if (got < replicas) {
            throw new NotReplicated("only " + got + " of " + replicas + " replica(s) acknowledged the write within "
                    + timeoutMillis + " ms (waitReplicas); it is on the master but a failover could lose it");
        }
    }

    /** Whether Redis refused a write because it is failing over or loading: nothing was written, try again. */
    public static boolean isRefusal(Throwable e) {
        if (!(e instanceof JedisDataException) || e.getMessage() == null) {
            return false;
        }
        String m = e.getMessage().toUpperCase(Locale.ROOT);
        return REFUSALS.stream().anyMatch(m::startsWith);
    }

    /** Writes that reached the master but not enough replicas. Retried like a lost connection. */
    public static final class NotReplicated extends JedisException {
        private static final long serialVersionUID = 1L;

        NotReplicated(String message) {
            super(message);
        }
    }
}
