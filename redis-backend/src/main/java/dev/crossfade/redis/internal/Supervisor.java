package dev.crossfade.redis.internal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a worker process's threads alive, as Sidekiq's manager replaces a processor that died. Every loop of the
 * runtime (fetcher, workers, acknowledger, heartbeat, poller) already catches everything; this is the net under that:
 * a thread that dies anyway (an {@link Error} thrown while handling another, an asynchronous {@code Thread.stop}) is
 * replaced by a fresh one running the same loop, and counted in {@code crossfade.redis.threads.replaced}.
 *
 * <p>A loop that returns normally has ended on purpose (its runtime is stopping) and is not replaced.
 */
public final class Supervisor {
    private static final Logger log = LoggerFactory.getLogger(Supervisor.class);
    private static final long CHECK_EVERY_MS = 500;

    private final RedisMetrics metrics;
    private final List<Slot> slots = new CopyOnWriteArrayList<>();
    private final String name;
    private volatile Thread watcher;
    private volatile boolean stopped;

    public Supervisor(String name, RedisMetrics metrics) {
        this.metrics = metrics;
        this.name = name;
        this.watcher = newWatcher();
    }

    private Thread newWatcher() {
        Thread t = new Thread(this::watch, name);
        t.setDaemon(true);
        return t;
    }

    /** One supervised loop: the thread running it now (a replacement after a death). */
    public final class Slot {
        private final String name;
        private final String role;
        private final Runnable body;
        private volatile Thread thread;
        private volatile boolean ended;

        private Slot(String name, String role, Runnable body) {
            this.name = name;
            this.role = role;
            this.body = body;
        }

        private void launch() {
            Thread t = new Thread(this::runBody, name);
            t.setDaemon(true);
            t.setUncaughtExceptionHandler((dead, e) -> {
                log.error(
                        "thread {} died: {}; {}",
                        dead.getName(),
                        e,
                        stopped ? "the runtime is stopping" : "a new one takes its place",
                        e);
                LockSupport.unpark(watcher);
            });
            thread = t;
            t.start();
        }

        private void runBody() {
            body.run();
            ended = true;
        }

        /** Waits until the loop has ended. @return true if it ended before the deadline */
        public boolean join(long deadlineNanos) {
            while (true) {
                Thread t = thread;
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0 || !t.isAlive() && (ended || stopped)) {
                    return !t.isAlive();
                }
                try {
                    t.join(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), CHECK_EVERY_MS)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return !t.isAlive();
                }
            }
        }

        public boolean isAlive() {
            return thread.isAlive();
        }

        public void interrupt() {
            thread.interrupt();
        }

        /** Whether the loop died without ending (so it needs a replacement); false before its thread ran. */
        private boolean died() {
            return !ended && thread.getState() == Thread.State.TERMINATED;
        }
    }

    /** Starts {@code body} on a new daemon thread named {@code name}, replaced whenever it dies. */
    public Slot start(String name, String role, Runnable body) {
        Slot slot = new Slot(name, role, body);
        slot.launch();
        slots.add(slot);
        return slot;
    }

    /** Starts watching. */
    public void start() {
        watcher.start();
    }

    /** Stops replacing threads: from now on the runtime's loops end on purpose. */
    public void stop() {
        stopped = true;
        LockSupport.unpark(watcher);
    }

    /** Whether the watcher itself is running; the heartbeat checks it, so neither can die unnoticed. */
    public boolean isAlive() {
        return watcher.isAlive();
    }

    /** Restarts the watcher if it died. */
    public synchronized void revive() {
        if (!stopped && !watcher.isAlive() && watcher.getState() != Thread.State.NEW) {
            watcher = newWatcher();
            watcher.start();
            metrics.threadReplaced("supervisor");
            log.error("the thread supervisor had died; started a new one");
        }
    }

    private void watch() {
        while (!stopped) {
            try {
                for (Slot slot : slots) {
                    if (!stopped && slot.died()) {
                        slot.launch();
                        metrics.threadReplaced(slot.role);
                        log.warn("replaced dead thread {} ({})", slot.name, slot.role);
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(CHECK_EVERY_MS));
            } catch (Throwable t) { // NOPMD: the supervisor must outlive whatever it watches
                try {
                    log.error("thread supervisor: {}", t.toString());
                } catch (Throwable ignored) {
                    // Nothing left to report with.
                }
            }
        }
    }
}
