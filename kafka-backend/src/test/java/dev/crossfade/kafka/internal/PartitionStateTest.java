package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class PartitionStateTest {
    private final PartitionState st = new PartitionState(new TopicPartition("t", 0), 2);

    private Chunk track(long... offsets) {
        List<ConsumerRecord<byte[], byte[]>> records = new java.util.ArrayList<>();
        for (long o : offsets) {
            records.add(new ConsumerRecord<>("t", 0, o, null, new byte[0]));
        }
        Chunk c = st.track(records, 0);
        st.highest = Math.max(st.highest, offsets[offsets.length - 1]);
        return c;
    }

    private static void finish(Chunk c) {
        while (!c.isDone()) {
            c.begin();
            c.end(Verdict.ACCEPT);
        }
        c.release();
    }

    @Test
    void theCommitPointIsTheFirstUnfinishedOffsetWhateverOrderChunksFinishIn() {
        Chunk a = track(10, 13);
        Chunk b = track(11);
        Chunk c = track(12);
        finish(b);
        finish(c);
        assertEquals(10, st.commitPoint());
        a.begin();
        a.end(Verdict.ACCEPT);
        assertEquals(13, st.commitPoint(), "a chunk's unfinished record past later chunks still holds the point");
        finish(a);
        assertEquals(14, st.commitPoint());
    }

    @Test
    void theHighestFinishedOffsetCountsChunksTheCommitPointDropped() {
        Chunk a = track(10, 20);
        Chunk b = track(11, 12);
        assertEquals(-1, st.highestFinished());
        finish(a);
        b.begin();
        b.end(Verdict.ACCEPT);
        assertEquals(20, st.highestFinished());
        assertEquals(12, st.commitPoint(), "drops the finished first chunk");
        assertEquals(20, st.highestFinished(), "a dropped chunk's records still count");
    }

    @Test
    void anAbandonedChunkRunsOnlyOnTheThreadGivenItAfterwardsUntilClosed() {
        Chunk c = track(5, 6, 7);
        c.begin();
        c.end(Verdict.ACCEPT);
        assertEquals(5, c.lastFinishedOffset());
        c.abandon();
        assertFalse(c.begin(), "its own thread starts nothing more");
        assertTrue(c.beginAbandoned());
        c.end(Verdict.ACCEPT);
        assertEquals(6, c.lastFinishedOffset());
        c.close();
        assertFalse(c.beginAbandoned(), "closed: the partition is gone");
    }

    @Test
    void aChunkWaitsBehindTheLastRunningChunkOfItsKeyOnly() {
        Chunk first = track(1);
        Chunk sameKey = track(2);
        Chunk otherKey = track(3);
        assertFalse(st.queueBehind(first, "k"), "nothing of its key runs: the caller starts it");
        assertTrue(st.queueBehind(sameKey, "k"));
        assertFalse(st.queueBehind(otherKey, "other"));
        assertSame(sameKey, first.passOn());
        assertEquals(null, sameKey.passOn());
        assertFalse(st.queueBehind(track(4), "k"), "the key's last chunk is done: start at once");
        assertFalse(st.queueBehind(track(5), null), "no key: ordered with nothing");
        assertFalse(st.queueBehind(track(6), null));
    }
}
