package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The configs of created topics. */
class TopicSettingsTest {
    private static Topics.Settings settings(Optional<Short> replication, int maxRecordBytes) {
        return new Topics.Settings(
                6, replication, Duration.ofDays(180), Duration.ofHours(6).plusDays(7), maxRecordBytes);
    }

    @Test
    void minInsyncReplicasFollowsAConfiguredReplication() {
        int mb = 1024 * 1024;
        assertEquals(
                Map.of(),
                settings(Optional.empty(), mb).configs(Topics.Kind.JOBS),
                "the broker's default replication: the broker's min.insync.replicas");
        assertEquals(Map.of(), settings(Optional.of((short) 1), mb).configs(Topics.Kind.JOBS));
        assertEquals(
                Map.of("min.insync.replicas", "1"),
                settings(Optional.of((short) 2), mb).configs(Topics.Kind.JOBS));
        assertEquals(
                Map.of("min.insync.replicas", "2"),
                settings(Optional.of((short) 3), mb).configs(Topics.Kind.JOBS));
        assertEquals(
                Map.of("min.insync.replicas", "2"),
                settings(Optional.of((short) 5), mb).configs(Topics.Kind.JOBS));
    }

    @Test
    void deadLettersAndDelayedJobsAreKeptLongerThanTheyWait() {
        Topics.Settings s = settings(Optional.empty(), 1024 * 1024);
        assertEquals(
                Map.of("retention.ms", Long.toString(Duration.ofDays(180).toMillis())), s.configs(Topics.Kind.DLQ));
        assertEquals(
                Map.of(
                        "retention.ms",
                        Long.toString(Duration.ofHours(6).plusDays(7).toMillis())),
                s.configs(Topics.Kind.DELAY));
    }

    @Test
    void topicsTakeWhatTheProducersMaySend() {
        assertEquals(
                Map.of("max.message.bytes", "5000000"),
                settings(Optional.empty(), 5_000_000).configs(Topics.Kind.JOBS));
        assertEquals(
                Map.of(),
                settings(Optional.empty(), 500_000).configs(Topics.Kind.JOBS),
                "at or below Kafka's default, the broker's limit stands");
    }
}
