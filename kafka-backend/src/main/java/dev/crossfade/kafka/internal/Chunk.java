package dev.crossfade.kafka.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A run of records of one partition that one worker thread processes in order. Internal: not part of the API.
 *
 * <p>Progress is a completed prefix ({@link #completed()}), written by the one thread running the chunk and read by
 * the poll thread. That is all offset tracking needs: the committable offset of a partition is the smallest first
 * unfinished offset over its unfinished chunks, however the partition's records were split (by partition, by key,
 * or round robin), so commits stay exact in every ordering mode without a per-record lock.
 *
 * <p>Stopping is two flags: {@code abandon} (start no further record: a revoke or a stop) and {@code close} (results
 * no longer count: the partition is gone, so retry/DLQ writes are skipped and the record runs again elsewhere).
 * {@code running} and {@code abandoned} are both volatile and set/checked in opposite orders by the two threads, so
 * either the worker sees the abandonment or the poll thread sees the running record; never neither. Once nothing
 * runs, a revoke or stop may hand an abandoned chunk to one more thread ({@link #beginAbandoned}) to run the records
 * left behind finished ones.
 *
 * <p>Ordering is a chain: a chunk that must run after another (same key, or same partition) is handed to it with
 * {@link #follow}, and the thread that runs the first runs the second when done ({@link #passOn}). One compare-and-set
 * on each side decides whether the successor was handed over in time or must be started anew.
 */
public final class Chunk {
    /** {@link #successor} once the chunk's thread has moved on: a later chunk of its key must be started anew. */
    private static final Object PASSED = new Object();

    private static final VarHandle SUCCESSOR;

    static {
        try {
            SUCCESSOR = MethodHandles.lookup().findVarHandle(Chunk.class, "successor", Object.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Null once released: a finished chunk may wait for the next commit, and its records should not (at these rates
    // they would survive young collections, and copying them cost more than running the jobs).
    private volatile List<ConsumerRecord<byte[], byte[]>> records;
    private final int size;
    private final long bytes;
    private final long firstTimestamp;
    private final long firstOffset;
    private final long lastOffset;
    private final Object owner;
    private final long polledAtNanos;
    private final Verdict[] verdicts;
    private volatile int completed;
    private volatile int begun;
    private volatile boolean running;
    private volatile boolean abandoned;
    private volatile boolean closed;
    // null, the next chunk of this chunk's ordering, or PASSED.
    private volatile Object successor;

    /**
     * @param owner    the runner's per-partition state (or batch), for its own bookkeeping
     * @param verdicts whether to keep a per-record verdict (share mode acknowledges each record)
     */
    public Chunk(List<ConsumerRecord<byte[], byte[]>> records, Object owner, long polledAtNanos, boolean verdicts) {
        this.records = records;
        this.size = records.size();
        long b = 0;
        for (ConsumerRecord<byte[], byte[]> r : records) {
            b += Math.max(0, r.serializedValueSize());
        }
        this.bytes = b;
        this.firstTimestamp = records.isEmpty() ? -1 : records.get(0).timestamp();
        this.firstOffset = records.isEmpty() ? -1 : records.get(0).offset();
        this.lastOffset =
                records.isEmpty() ? -1 : records.get(records.size() - 1).offset();
        this.owner = owner;
        this.polledAtNanos = polledAtNanos;
        this.verdicts = verdicts ? new Verdict[records.size()] : null;
    }

    /** The records; only until {@link #release()}. */
    public List<ConsumerRecord<byte[], byte[]>> records() {
        return records;
    }

    public int size() {
        return size;
    }

    /** The records' payload bytes, for backpressure. */
    public long bytes() {
        return bytes;
    }

    /** The timestamp of the first record (-1 when empty), kept after {@link #release()}. */
    public long firstTimestamp() {
        return firstTimestamp;
    }

    /** The offset of the first record (-1 when empty), kept after {@link #release()}. */
    public long firstOffset() {
        return firstOffset;
    }

    /** The offset of the last record (-1 when empty), kept after {@link #release()}. */
    public long lastOffset() {
        return lastOffset;
    }

    /** Drops the records of a finished chunk; its offsets are no longer needed for commits. */
    public void release() {
        if (isDone()) {
            records = null;
        }
    }

    public Object owner() {
        return owner;
    }

    public long polledAtNanos() {
        return polledAtNanos;
    }

    /** Records finished (done, retry scheduled or dead-lettered), as a prefix. */
    public int completed() {
        return completed;
    }

    /** The offset of the first unfinished record, or -1 when every record is finished. */
    public long firstUnfinishedOffset() {
        List<ConsumerRecord<byte[], byte[]>> r = records;
        int c = completed;
        return r != null && c < size ? r.get(c).offset() : -1;
    }

    /** The offset of the last finished record, or -1 when none finished. */
    public long lastFinishedOffset() {
        List<ConsumerRecord<byte[], byte[]>> r = records;
        int c = completed;
        if (c == 0) {
            return -1;
        }
        return r == null ? lastOffset : r.get(c - 1).offset();
    }

    public boolean isDone() {
        return completed >= size;
    }

    /**
     * Called by the worker before each record: marks it running, then reports whether it may start. Returns false
     * (and clears running) once the chunk is abandoned.
     */
    public boolean begin() {
        running = true;
        if (abandoned) {
            running = false;
            return false;
        }
        begun = completed + 1;
        return true;
    }

    /**
     * As {@link #begin}, on the one thread a revoke or stop gives an abandoned chunk to run the jobs it left behind
     * finished ones ({@link GapFill}): the abandonment still keeps the chunk's own thread from starting a record, a
     * close stops this one too.
     */
    public boolean beginAbandoned() {
        running = true;
        if (closed) {
            running = false;
            return false;
        }
        begun = completed + 1;
        return true;
    }

    /** Records that started (finished, running, or left unfinished by a closed chunk), as a prefix. */
    public int begun() {
        return begun;
    }

    /** Called by the worker after a record: advances the prefix (when finished) before clearing running. */
    public void end(Verdict verdict) {
        if (verdict.finished()) {
            if (verdicts != null) {
                verdicts[completed] = verdict;
            }
            completed = completed + 1;
        }
        running = false;
    }

    /** The verdict of record {@code i}; share mode only. Read after {@link #isRunning()} is false. */
    public Verdict verdict(int i) {
        return i < completed ? verdicts[i] : Verdict.UNFINISHED;
    }

    public boolean isRunning() {
        return running;
    }

    /** Start no further record. */
    public void abandon() {
        abandoned = true;
    }

    public boolean isAbandoned() {
        return abandoned;
    }

    /** Results no longer count: skip retry/DLQ writes for records still running. */
    public void close() {
        abandoned = true;
        closed = true;
    }

    public boolean isClosed() {
        return closed;
    }

    /**
     * Poll thread: hands {@code next} to the thread running this chunk, to run after it. False when that thread has
     * already moved on ({@link #passOn}): the caller must start {@code next} itself.
     */
    public boolean follow(Chunk next) {
        return SUCCESSOR.compareAndSet(this, null, next);
    }

    /** Worker thread, once done with this chunk: the chunk to run next on this thread, or null. */
    public Chunk passOn() {
        return SUCCESSOR.compareAndExchange(this, null, PASSED) instanceof Chunk next ? next : null;
    }

    /** This chunk's thread has moved on with no successor: nothing of its ordering is queued or running. */
    public boolean passed() {
        return successor == PASSED;
    }
}
