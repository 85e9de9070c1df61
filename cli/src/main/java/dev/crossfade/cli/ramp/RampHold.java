package dev.crossfade.cli.ramp;

import dev.crossfade.flags.RoutingFlags;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Mirrors a rollback's hold ({@link RampStore#hold}) into this process's router ({@link RoutingFlags#holdOnRedis}),
 * reading the key every {@link #POLL}: one {@code GET} per process per poll. A Redis that cannot be read leaves the
 * router as it was, so a hold is not lost to a blip and no hold appears from one.
 */
public final class RampHold implements AutoCloseable {
    /** How often the hold is read: well within the second a rollback has. */
    public static final Duration POLL = Duration.ofMillis(100);

    private static final Logger log = LoggerFactory.getLogger(RampHold.class);

    private final RampStore store;
    private final RoutingFlags flags;
    private final ScheduledExecutorService poller;
    private volatile boolean warned;

    public RampHold(RampStore store, RoutingFlags flags) {
        this.store = store;
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
            String why = store.holdReason();
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
