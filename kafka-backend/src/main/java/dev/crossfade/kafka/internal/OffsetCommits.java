package dev.crossfade.kafka.internal;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The commits of one consumer-group member: each partition's first unfinished offset with its {@link CrashMark}.
 *
 * <p><b>Announcing.</b> A fetched record starts only once a commit whose mark covers it was acknowledged, so that a
 * later owner knows which records may have been running should this one die. Each commit announces {@code ahead}
 * records past the highest fetched one, and the regular asynchronous commit announces again once fetching has used
 * half of that: records normally arrive already announced and start without waiting for a commit. The mark may thus
 * name records that were never fetched; a later owner bounds it by the partition's end offset. Synchronous commits are
 * kept for a recovery after a crash (each suspect job announced alone) and for letting partitions go.
 *
 * <p>Poll thread only (asynchronous commits' callbacks run on it too).
 */
final class OffsetCommits {
    private static final Logger log = LoggerFactory.getLogger(OffsetCommits.class);
    /** During a recovery, a synchronous commit announces each suspect job before it starts. */
    private static final Duration MARK_TIMEOUT = Duration.ofSeconds(15);

    private final KafkaConsumer<byte[], byte[]> consumer;
    private final Map<TopicPartition, PartitionState> states;
    private final Duration interval;
    private final int ahead;
    private final String name;
    private long lastCommitNanos = System.nanoTime();

    /**
     * @param ahead how many records past the highest fetched one a commit announces
     */
    OffsetCommits(
            KafkaConsumer<byte[], byte[]> consumer,
            Map<TopicPartition, PartitionState> states,
            Duration interval,
            int ahead,
            String name) {
        this.consumer = consumer;
        this.states = states;
        this.interval = interval;
        this.ahead = Math.max(1, ahead);
        this.name = name;
    }

    /** The poll loop's asynchronous commit: every {@code commitInterval}, or at once when records need announcing. */
    void regular() {
        long now = System.nanoTime();
        if (now - lastCommitNanos < interval.toNanos() && !anyToAnnounce()) {
            return;
        }
        lastCommitNanos = now;
        commit(states.values(), false, false, null);
    }

    private boolean anyToAnnounce() {
        for (PartitionState st : states.values()) {
            if (st.needsAnnouncing(ahead)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Commits each partition's first unfinished offset with its {@link CrashMark}.
     *
     * @param sync    whether to wait for the broker (a revoke or stop: the last word on the partitions)
     * @param clean   the partitions are let go with every started job finished (a revoke or stop that drained them)
     * @param timeout how long a synchronous commit may wait
     */
    void commit(Collection<PartitionState> which, boolean sync, boolean clean, Duration timeout) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        Map<TopicPartition, Long> announced = new HashMap<>();
        for (PartitionState st : which) {
            long point = st.commitPoint();
            long hi = st.announcing;
            if (st.needsAnnouncing(ahead)) {
                hi = st.highest + ahead;
            }
            String mark = st.mark(clean, hi).format();
            // A synchronous commit (revoke, shutdown) is the last word on a partition: it repeats the offset even
            // when an async commit of the same one may still be in flight or may have failed.
            if (point >= 0 && (point > st.committed || !mark.equals(st.sentMark) || sync)) {
                offsets.put(st.tp, new OffsetAndMetadata(point, mark));
                st.committed = point;
                st.sentMark = mark;
                if (st.recovery == null && hi > st.announcing) {
                    st.announcing = hi;
                    announced.put(st.tp, hi);
                }
            }
        }
        if (offsets.isEmpty()) {
            return;
        }
        if (sync) {
            for (int attempt = 1; attempt <= 2; attempt++) {
                try {
                    consumer.commitSync(offsets, timeout);
                    return;
                } catch (WakeupException e) {
                    // A stale wakeup: try once more.
                } catch (RuntimeException e) {
                    log.warn("{}: commit of {} failed: {} (those jobs will run again)", name, offsets, e.toString());
                    return;
                }
            }
        } else {
            consumer.commitAsync(offsets, (o, e) -> {
                if (e == null) {
                    announced.forEach((tp, hi) -> {
                        PartitionState st = states.get(tp);
                        if (st != null && hi > st.announced) {
                            st.announced = hi;
                        }
                    });
                    return;
                }
                // Forget the offsets we sent (the callback's map is null on failure) so the next turn commits them
                // again.
                log.debug("{}: async commit failed (retried next turn): {}", name, e.toString());
                offsets.forEach((tp, om) -> {
                    PartitionState st = states.get(tp);
                    if (st != null && st.committed == om.offset()) {
                        st.committed = -1;
                        st.sentMark = null;
                        st.announcing = st.announced;
                    }
                });
            });
        }
    }

    /** Commits {@code offset} with {@code mark}, synchronously: the mark must be durable before the job starts. */
    boolean commitMark(PartitionState st, long offset, CrashMark mark) {
        try {
            consumer.commitSync(Map.of(st.tp, new OffsetAndMetadata(offset, mark.format())), MARK_TIMEOUT);
            st.committed = offset;
            st.sentMark = mark.format();
            return true;
        } catch (RuntimeException e) {
            log.warn("{}: cannot record the recovery of {} ({}); trying again", name, st.tp, e.toString());
            return false;
        }
    }
}
