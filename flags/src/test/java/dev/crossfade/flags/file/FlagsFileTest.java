package dev.crossfade.flags.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlagsFileTest {
    @TempDir
    Path dir;

    @Test
    void percentagesRoundTripAndTheEndsServeOneVariation() throws IOException {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        for (double[] p : new double[][] {{0, 0}, {25, 5}, {100, 100}, {99.5, 0.001}}) {
            file.write(new FlagsFile.Settings(p[0], false, p[1]));
            FlagsFile.Settings read = file.read();
            assertEquals(p[0], read.kafkaPercent(), 1e-9);
            assertEquals(p[1], read.shadowPercent(), 1e-9);
        }
        file.write(new FlagsFile.Settings(100, false, 0));
        JsonNode flags = new ObjectMapper().readTree(file.path().toFile()).path("flags");
        assertEquals(
                1,
                flags.path("crossfade-route")
                        .path("fallthrough")
                        .path("variation")
                        .asInt(-1));
        assertEquals(
                0,
                flags.path("crossfade-shadow")
                        .path("fallthrough")
                        .path("variation")
                        .asInt(-1));
        assertFalse(flags.path("crossfade-route").path("fallthrough").has("rollout"));
        file.setKafkaPercent(25);
        flags = new ObjectMapper().readTree(file.path().toFile()).path("flags");
        assertTrue(flags.path("crossfade-route").path("fallthrough").has("rollout"));
        assertEquals(
                "crossfade-route-salt",
                flags.path("crossfade-route").path("salt").asText(),
                "the salt stays, so keys land in the same buckets as before");
    }
}
