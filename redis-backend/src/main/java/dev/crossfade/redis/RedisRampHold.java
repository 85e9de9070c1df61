package dev.crossfade.redis;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors a rollback's hold ({@link RampHoldKey}) into this process's router through a {@link Target} (the routing
 * flags' {@code holdOnRedis}/{@code releaseHold}, which this module cannot see), reading the key every {@link #POLL}:
 * one {@code GET} per process per poll. A Redis that cannot be read leaves the
 * router as it was, so a hold is not lost to a blip and no hold appears from one.
 */
public final class RedisRampHold implements AutoCloseable {
    /** What a hold is applied to: the router's routing flags. */
    public interface Target {
        /** Every job goes to Redis, whatever the flags say, until {@link #releaseHold()}. */
        void holdOnRedis(String why);

        /** The flags decide again; does nothing when not held. */
        void releaseHold();
    }

    /** How often the hold is read: well within the second a rollback has. */
    public static final Duration POLL = Duration.ofMillis(100);

    private static final Logger log = LoggerFactory.getLogger(RedisRampHold.class);

    private final RampHoldKey key;
    private final Target flags;
    private final ScheduledExecutorService poller;
    private volatile boolean warned;

    RedisRampHold(RampHoldKey key, Target flags) {
        this.key = key;
        this.flags = flags;
        poll();
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-ramp-hold");
            t.setDaemon(true);
            return t;
        });
        poller.scheduleWithFixedDelay(this::poll, POLL.toMillis(), POLL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void poll() {
        try {
            String why = key.reason();
            if (why == null) {
                flags.releaseHold();
            } else {
                flags.holdOnRedis("rollout rolled back: " + why);
            }
            warned = false;
        } catch (RuntimeException e) {
            if (!warned) {
                warned = true;
                log.warn("cannot read the rollout hold from Redis ({}); routing as before", e.toString());
            }
        }
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
