package dev.crossfade.kafka.internal;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * One assigned partition of a consumer-group member: its fetched chunks (what the commit point is computed from), the
 * chunks held until a commit announces them, the last chunk of each ordering key, what was committed and announced,
 * and a recovery in progress. Touched by the poll thread only, except the outstanding counts ({@link #settled}).
 */
final class PartitionState {
    final TopicPartition tp;
    final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
    final AtomicInteger outstanding = new AtomicInteger();
    final AtomicLong outstandingBytes = new AtomicLong();
    /**
     * The last chunk handed out per ordering key: the next chunk of that key runs after it. Entries whose chunk's
     * thread moved on are pruned, so the map holds about the keys in flight.
     */
    private final Map<Object, Chunk> tails = new HashMap<>();

    private final int concurrency;
    private int pruneAt;
    /** Fetched chunks not yet handed to the workers, in offset order. */
    final ArrayDeque<Held> held = new ArrayDeque<>();

    long highest = -1;
    /** The highest offset of the finished chunks {@link #commitPoint} dropped. */
    long droppedHighest = -1;

    long committed = -1;
    /** The offset metadata of the last commit sent; null when it failed. */
    String sentMark;
    /** Records up to this were announced by an acknowledged commit and may start. */
    long announced = -1;
    /** Records up to this are announced by a commit sent (maybe not yet acknowledged). */
    long announcing = -1;
    /** Non-null while jobs the previous owner left in flight run. */
    Recovery recovery;

    boolean paused;

    PartitionState(TopicPartition tp, int concurrency) {
        this.tp = tp;
        this.concurrency = concurrency;
        this.pruneAt = 4 * concurrency;
    }

    /** A new chunk of this partition's records, tracked for commits and counted for backpressure. */
    Chunk track(List<ConsumerRecord<byte[], byte[]>> records, long polledAtNanos) {
        Chunk c = new Chunk(records, this, polledAtNanos, false);
        chunks.add(c);
        outstanding.addAndGet(c.size());
        outstandingBytes.addAndGet(c.bytes());
        return c;
    }

    /** A chunk's worker is done with it: its records no longer count for backpressure. */
    void settled(Chunk c) {
        outstanding.addAndGet(-c.size());
        outstandingBytes.addAndGet(-c.bytes());
    }

    /**
     * Queues a chunk to run after the last one handed out with the same key ({@code null}: ordered with nothing).
     * False when there is none still running: the caller must start the chunk.
     */
    boolean queueBehind(Chunk c, Object key) {
        if (key == null) {
            return false;
        }
        Chunk tail = tails.put(key, c);
        if (tail != null && tail.follow(c)) {
            return true;
        }
        if (tails.size() > pruneAt) {
            // A passed tail can receive nothing more; pruning at twice the size left keeps this O(1) per chunk.
            tails.values().removeIf(Chunk::passed);
            pruneAt = Math.max(4 * concurrency, 2 * tails.size());
        }
        return false;
    }

    /** Whether the next commit should announce further ahead: fetching has used half of what was announced. */
    boolean needsAnnouncing(int ahead) {
        return recovery == null && highest >= 0 && highest > announcing - ahead / 2;
    }

    /**
     * What the next commit of this partition says about jobs in flight.
     *
     * @param hi the highest offset that may start before a later commit is acknowledged (at least every one
     *     announced so far)
     */
    CrashMark mark(boolean clean, long hi) {
        if (recovery == null) {
            return clean ? CrashMark.CLEAN : CrashMark.running(Math.max(hi, announced));
        }
        // Keep the last recovery mark (it may name the job running alone), or the crashes counted so far.
        CrashMark sent = sentMark == null ? null : CrashMark.parse(sentMark);
        return sent != null && !sent.clean() ? sent : new CrashMark(false, recovery.hi, recovery.deaths, -1, 0);
    }

    /** The offset to commit: the first unfinished one, or one past the last fetched; -1 when nothing fetched. */
    long commitPoint() {
        while (!chunks.isEmpty() && chunks.peekFirst().firstUnfinishedOffset() < 0) {
            droppedHighest = Math.max(droppedHighest, chunks.pollFirst().lastOffset());
        }
        // Chunks are tracked in order of their first offsets, so the scan ends at the first one past the minimum.
        long min = Long.MAX_VALUE;
        for (Chunk c : chunks) {
            if (c.firstOffset() >= min) {
                break;
            }
            long u = c.firstUnfinishedOffset();
            if (u >= 0 && u < min) {
                min = u;
            }
        }
        if (min != Long.MAX_VALUE) {
            return min;
        }
        // Nothing fetched yet: committing highest + 1 = 0 here would roll the group back to the start.
        return highest < 0 ? -1 : highest + 1;
    }

    /** The highest offset of a finished record (-1: none); only while no record of the partition runs. */
    long highestFinished() {
        long max = droppedHighest;
        for (Chunk c : chunks) {
            max = Math.max(max, c.lastFinishedOffset());
        }
        return max;
    }

    /** A fetched chunk waiting to be handed to the workers; {@code key} orders it (null: with nothing). */
    record Held(Chunk chunk, Object key, boolean suspect) {}

    /** A partition whose previous owner died with jobs in flight (see {@link CrashMark}). */
    static final class Recovery {
        final long hi;
        final int deaths;
        final long aloneOffset;
        final int aloneDeaths;
        /** One at a time (each marked first), or the whole range at once with the range marked. */
        final boolean alone;

        boolean wholeRangeReleased;
        Chunk current;

        Recovery(CrashMark mark, long committed, int concurrency) {
            this.hi = mark.hi();
            this.deaths = mark.deaths();
            this.aloneOffset = mark.alone();
            this.aloneDeaths = mark.aloneDeaths();
            // One by one costs a synchronous commit per job: worth it when few jobs are suspect or the range already
            // took down more than one owner.
            this.alone = mark.alone() >= committed || mark.deaths() >= 2 || hi - committed + 1 <= concurrency;
        }
    }
}
