package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

class ChunkTest {
    private static ConsumerRecord<byte[], byte[]> record(long offset) {
        return new ConsumerRecord<>("t", 0, offset, null, new byte[0]);
    }

    private final Chunk chunk = new Chunk(List.of(record(40), record(41), record(42)), "owner", 0, false);

    @Test
    void commitPointFollowsTheFinishedPrefix() {
        assertEquals(40, chunk.firstUnfinishedOffset());
        assertTrue(chunk.begin());
        chunk.end(Verdict.ACCEPT);
        assertEquals(41, chunk.firstUnfinishedOffset());
        assertTrue(chunk.begin());
        chunk.end(Verdict.UNFINISHED);
        assertEquals(41, chunk.firstUnfinishedOffset(), "an unfinished record holds the commit point");
        assertFalse(chunk.isDone());
    }

    @Test
    void releaseDropsRecordsOnlyOnceEveryRecordFinished() {
        chunk.begin();
        chunk.end(Verdict.ACCEPT);
        chunk.release();
        assertNotNull(chunk.records(), "records still to run are kept");
        assertEquals(41, chunk.firstUnfinishedOffset());
        for (int i = 0; i < 2; i++) {
            chunk.begin();
            chunk.end(Verdict.ACCEPT);
        }
        chunk.release();
        assertNull(chunk.records());
        assertEquals(-1, chunk.firstUnfinishedOffset(), "a released chunk holds back no commit");
        assertEquals(3, chunk.size());
    }

    @Test
    void bytesAreThePayloadSizesAndOutliveRelease() {
        Chunk c = new Chunk(List.of(sized(1, 100), sized(2, 250), sized(3, -1)), "owner", 0, false);
        assertEquals(350, c.bytes(), "a record without a payload counts 0");
        for (int i = 0; i < 3; i++) {
            c.begin();
            c.end(Verdict.ACCEPT);
        }
        c.release();
        assertEquals(350, c.bytes());
    }

    private static ConsumerRecord<byte[], byte[]> sized(long offset, int valueSize) {
        return new ConsumerRecord<>(
                "t",
                0,
                offset,
                0L,
                TimestampType.CREATE_TIME,
                0,
                valueSize,
                null,
                valueSize < 0 ? null : new byte[valueSize],
                new RecordHeaders(),
                Optional.empty());
    }

    @Test
    void anAbandonedChunkStartsNothing() {
        chunk.abandon();
        assertFalse(chunk.begin());
        assertFalse(chunk.isRunning());
        assertEquals(40, chunk.firstUnfinishedOffset());
    }

    @Test
    void aChunkFollowedBeforeItsThreadMovesOnIsRunByThatThread() {
        Chunk next = new Chunk(List.of(record(43)), "owner", 0, false);
        assertTrue(chunk.follow(next));
        assertSame(next, chunk.passOn(), "the thread that ran the chunk runs its successor");
        assertFalse(chunk.passed());
        assertNull(next.passOn());
        assertTrue(next.passed());
    }

    @Test
    void aChunkCannotFollowOneWhoseThreadMovedOn() {
        assertNull(chunk.passOn());
        assertTrue(chunk.passed());
        assertFalse(
                chunk.follow(new Chunk(List.of(record(43)), "owner", 0, false)),
                "nobody would run it: the caller must start it");
    }
}
