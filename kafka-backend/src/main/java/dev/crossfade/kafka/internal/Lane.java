package dev.crossfade.kafka.internal;

import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * Runs chunks one after another on a shared pool: the unit of ordering (a partition, or one record key of a
 * partition). A lane occupies at most one pool thread and never blocks one while it has nothing to do. Internal.
 */
public final class Lane implements Runnable {
    private final ArrayDeque<Chunk> pending = new ArrayDeque<>();
    private final Executor executor;
    private final Consumer<Chunk> body;
    private boolean active;

    public Lane(Executor executor, Consumer<Chunk> body) {
        this.executor = executor;
        this.body = body;
    }

    /** Queues a chunk; starts the lane on the pool when it was idle. */
    public void submit(Chunk chunk) {
        synchronized (this) {
            pending.addLast(chunk);
            if (active) {
                return;
            }
            active = true;
        }
        executor.execute(this);
    }

    /** Nothing queued and not running: a lane the runner may forget. */
    public synchronized boolean idle() {
        return !active && pending.isEmpty();
    }

    @Override
    public void run() {
        for (; ; ) {
            Chunk next;
            synchronized (this) {
                next = pending.pollFirst();
                if (next == null) {
                    active = false;
                    return;
                }
            }
            try {
                body.accept(next);
            } catch (Throwable t) {
                // The body handles its own failures; should one escape, the lane must still serve its next chunk
                // (a lane that stopped here would stay marked active and never run again).
                Thread current = Thread.currentThread();
                current.getUncaughtExceptionHandler().uncaughtException(current, t);
            }
        }
    }
}
