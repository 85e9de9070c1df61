package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.crossfade.api.Job;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DeadLetterTest {
    private static DeadLetter of(Job job, Map<String, String> headers) {
        return new DeadLetter(job, "t.dlq", 0, 0, Instant.EPOCH, headers);
    }

    @Test
    void theJidComesFromTheJobElseFromEitherHeaderForm() {
        assertEquals("j1", of(Job.builder("W").jid("j1").build(), Map.of()).jid());
        assertEquals(
                "j2", of(null, Map.of("crossfade-job", "3 j2 Some::Worker")).jid());
        assertEquals("j3", of(null, Map.of("jid", "j3")).jid());
        assertNull(of(null, Map.of("crossfade-job", "3  W")).jid());
        assertNull(of(null, Map.of()).jid());
    }
}
