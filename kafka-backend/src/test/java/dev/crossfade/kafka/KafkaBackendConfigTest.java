package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class KafkaBackendConfigTest {
    private static KafkaBackendConfig.Builder base() {
        return KafkaBackendConfig.custom().bootstrapServers("127.0.0.1:9092");
    }

    @Test
    void batchSizeDefaultsPerModeAndSurvivesAModeChange() {
        KafkaBackendConfig group = base().build();
        assertEquals(2000, group.maxPollRecords());
        assertEquals(4000, group.maxBufferedPerPartition());
        KafkaBackendConfig share =
                group.toBuilder().mode(KafkaBackendConfig.Mode.SHARE).build();
        // A share consumer locks every record it fetched: its batch follows the threads it feeds, one consumer per
        // ten threads by default.
        assertEquals(1, share.shareConsumers(1));
        assertEquals(1, share.shareConsumers(4));
        assertEquals(1, share.shareConsumers(10));
        assertEquals(2, share.shareConsumers(20));
        assertEquals(6, share.shareConsumers(64));
        assertEquals(100, share.shareMaxPollRecords(1));
        assertEquals(400, share.shareMaxPollRecords(4));
        assertEquals(1000, share.shareMaxPollRecords(10));
        assertEquals(1000, share.shareMaxPollRecords(20));
        assertEquals(1000, share.shareMaxPollRecords(64));
        KafkaBackendConfig one = share.toBuilder().shareConsumers(1).build();
        assertEquals(1, one.shareConsumers(10), "an explicit value is kept");
        assertEquals(1000, one.shareMaxPollRecords(10), "one consumer feeds every thread");
        KafkaBackendConfig set = base().maxPollRecords(100).build().toBuilder()
                .mode(KafkaBackendConfig.Mode.SHARE)
                .build();
        assertEquals(100, set.maxPollRecords(), "an explicit value is kept");
        assertEquals(100, set.shareMaxPollRecords(10), "an explicit value is kept");
        assertEquals(200, set.maxBufferedPerPartition());
    }

    @Test
    void bufferedBytesAreBoundedByDefault() {
        assertEquals(16L * 1024 * 1024, base().build().maxBufferedBytesPerPartition());
        assertEquals(
                1_000,
                base().maxBufferedBytesPerPartition(1_000).build().toBuilder()
                        .build()
                        .maxBufferedBytesPerPartition());
    }

    @Test
    void badValuesNameTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> base().maxPollRecords(0));
        assertTrue(e.getMessage().contains("maxPollRecords"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> base().maxBufferedBytesPerPartition(0));
        assertTrue(e.getMessage().contains("maxBufferedBytesPerPartition"), e.getMessage());
    }

    @Test
    void topicsUseTheBrokersReplicationUnlessSet() {
        assertEquals(java.util.Optional.empty(), base().build().replication());
        assertEquals(
                java.util.Optional.of((short) 3),
                base().replication(3).build().toBuilder().build().replication());
        assertEquals(
                java.util.Optional.empty(),
                base().replication(3)
                        .replication(java.util.Optional.empty())
                        .build()
                        .replication());
        assertThrows(IllegalArgumentException.class, () -> base().replication(0));
    }

    @Test
    void deadLettersAndDelayedJobsOutliveTheirWait() {
        KafkaBackendConfig c = base().build();
        assertEquals(java.time.Duration.ofDays(180), c.dlqRetention());
        assertEquals(java.time.Duration.ofHours(6).plusDays(7), c.delayRetention(), "longest tier + 7 days");
        KafkaBackendConfig tiers = base().delayTiers(
                        java.util.List.of(java.time.Duration.ofSeconds(1), java.time.Duration.ofDays(2)))
                .build();
        assertEquals(java.time.Duration.ofDays(9), tiers.delayRetention());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> base().delayRetention(java.time.Duration.ofHours(6)).build());
        assertTrue(e.getMessage().contains("delayRetention"), e.getMessage());
        assertEquals(
                java.time.Duration.ofDays(30),
                base().delayRetention(java.time.Duration.ofDays(30)).build().toBuilder()
                        .build()
                        .delayRetention());
    }
}
