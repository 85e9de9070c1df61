package dev.crossfade.spring.boot;

import dev.crossfade.api.WorkerRuntime;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts Kafka's worker runtime on a thread of its own, retrying with backoff: its start needs the broker (it
 * creates topics and sets group configs), and a broker that is down must neither fail nor hold up the application's
 * start while the Redis workers and the router's fallback keep jobs moving. A runtime that failed to start can be
 * started again, since it records itself started only once everything succeeded.
 */
final class BackgroundStart implements WorkerRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundStart.class);
    private static final long MAX_BACKOFF_MS = 30_000;

    private final String name;
    private final WorkerRuntime delegate;
    private volatile boolean stopping;
    // Guarded by this: exactly one of the starter thread and stop() stops a runtime that did start.
    private boolean started;
    private boolean abandoned;
    private Thread starter;

    BackgroundStart(String name, WorkerRuntime delegate) {
        this.name = name;
        this.delegate = delegate;
    }

    @Override
    public synchronized void start() {
        if (starter != null) {
            return;
        }
        starter = new Thread(this::startWithRetries, "crossfade-" + name + "-start");
        starter.setDaemon(true);
        starter.start();
    }

    private void startWithRetries() {
        long backoff = 1_000;
        while (!stopping) {
            try {
                // Not under the lock: an attempt against a broker that does not answer can take the client's
                // whole timeout, and stop() must not wait for it.
                delegate.start();
                boolean stopNow;
                synchronized (this) {
                    started = true;
                    stopNow = abandoned;
                }
                if (stopNow) {
                    delegate.stop(Duration.ZERO);
                } else {
                    LOG.info("Crossfade {} workers started", name);
                }
                return;
            } catch (RuntimeException e) {
                if (stopping) {
                    return;
                }
                LOG.warn(
                        "Crossfade {} workers cannot start yet ({}); retrying in {} s",
                        name,
                        e.toString(),
                        backoff / 1000);
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
    }

    /** Stops the runtime if it started; an attempt still under way after {@code timeout} is left to stop itself. */
    @Override
    public boolean stop(Duration timeout) {
        stopping = true;
        Thread t;
        synchronized (this) {
            t = starter;
        }
        if (t != null) {
            t.interrupt();
            try {
                t.join(Math.max(1, timeout.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (!started) {
                abandoned = true;
                return true;
            }
        }
        return delegate.stop(timeout);
    }

    @Override
    public void close() {
        stop(Duration.ZERO);
    }
}
