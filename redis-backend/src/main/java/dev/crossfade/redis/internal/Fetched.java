package dev.crossfade.redis.internal;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One job moved to this process's in-progress list: the exact bytes fetched (the acknowledgement removes exactly these
 * bytes, even if they are not valid UTF-8 or JSON) and the keys it moves between.
 *
 * <p>Its state is a small CAS state machine so that a job is either acknowledged by its worker or requeued by a
 * shutdown, never both: a worker still running after the shutdown timeout loses the race, and whatever it produces
 * afterwards is dropped (its job is already back on the queue).
 */
public final class Fetched {
    static final int WAITING = 0;
    static final int RUNNING = 1;
    static final int DONE = 2;
    static final int ABANDONED = 3;

    final String queue;
    final byte[] payload;
    final byte[] queueKey;
    final byte[] inProgressKey;
    final long fetchedAtNanos = System.nanoTime();
    private final AtomicInteger state = new AtomicInteger(WAITING);

    Fetched(String queue, byte[] payload, byte[] queueKey, byte[] inProgressKey) {
        this.queue = queue;
        this.payload = payload;
        this.queueKey = queueKey;
        this.inProgressKey = inProgressKey;
    }

    public String queue() {
        return queue;
    }

    public byte[] payload() {
        return payload;
    }

    /** The worker takes the job; false if a shutdown already requeued it. */
    boolean start() {
        return state.compareAndSet(WAITING, RUNNING);
    }

    /** The worker finished; false if a shutdown requeued it meanwhile (the outcome must then be dropped). */
    boolean finish() {
        return state.compareAndSet(RUNNING, DONE);
    }

    /** A shutdown takes back a job no worker has started. @return false if a worker took it first */
    public boolean abandonForShutdown() {
        return state.compareAndSet(WAITING, ABANDONED);
    }

    /** The shutdown takes the job back; false if a worker finished (or took) it first. */
    boolean abandon() {
        return state.compareAndSet(RUNNING, ABANDONED) || state.compareAndSet(WAITING, ABANDONED);
    }
}
