package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.crossfade.kafka.KafkaBackendConfig;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Every kind of client the backend makes is built from the configured properties. */
class ClientPropertiesTest {
    private static KafkaBackendConfig.Builder base() {
        return KafkaBackendConfig.custom().bootstrapServers("broker-1:9093");
    }

    /** Each client kind the backend makes, by what uses it. */
    private static Map<String, Map<String, Object>> everyKind(ClientProperties c) {
        Map<String, Map<String, Object>> kinds = new LinkedHashMap<>();
        kinds.put("producer (single jobs, retries, dead letters, scheduler hops)", c.producer());
        kinds.put("bulk producer", c.bulkProducer());
        kinds.put("bounded producer", c.boundedProducer(Duration.ofSeconds(2)));
        kinds.put("group worker / scheduler consumer", c.consumer("g", "worker"));
        kinds.put("share consumer", c.shareConsumer("share-worker", 4));
        kinds.put("reader (DLQ listing, replay, transfer, lag probe)", c.reader());
        kinds.put("admin (topics, group configs, lag, transfer, health)", c.admin());
        return kinds;
    }

    @Test
    void aClientPropertyReachesEveryClientKind() {
        ClientProperties c = new ClientProperties(base().clientProperty("security.protocol", "SASL_SSL")
                .clientProperty("sasl.mechanism", "SCRAM-SHA-512")
                .clientProperty("ssl.truststore.location", "/etc/kafka/truststore.jks")
                .build());
        everyKind(c).forEach((kind, p) -> {
            assertEquals("SASL_SSL", p.get("security.protocol"), kind);
            assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"), kind);
            assertEquals("/etc/kafka/truststore.jks", p.get("ssl.truststore.location"), kind);
            assertEquals("broker-1:9093", p.get("bootstrap.servers"), kind);
        });
    }

    @Test
    void perKindPropertiesComeLastButReadersKeepTheirOwnGroupAndOffsets() {
        ClientProperties c = new ClientProperties(base().clientProperty("security.protocol", "SSL")
                .producerProperty("security.protocol", "SASL_SSL")
                .consumerProperty("group.id", "not-for-readers")
                .consumerProperty("auto.offset.reset", "latest")
                .consumerProperty("fetch.min.bytes", 2)
                .consumerProperty("share.acquire.mode", "batch_optimized")
                .build());
        assertEquals("SASL_SSL", c.producer().get("security.protocol"), "producer properties win");
        assertEquals("SSL", c.consumer("g", "w").get("security.protocol"));
        Map<String, Object> reader = c.reader();
        assertFalse(reader.containsKey("group.id"), "a reader joins no group");
        assertEquals("earliest", reader.get("auto.offset.reset"), "a reader reads from the start");
        assertEquals(2, reader.get("fetch.min.bytes"), "other consumer properties reach readers");
        assertEquals("batch_optimized", c.shareConsumer("s", 4).get("share.acquire.mode"));
        assertFalse(c.consumer("g", "w").containsKey("share.acquire.mode"), "share settings stay off group consumers");
        assertEquals(
                "record_limit",
                new ClientProperties(base().build()).shareConsumer("s", 4).get("share.acquire.mode"),
                "by default a share consumer acquires no more than a batch");
    }

    @Test
    void payloadLimitsFollowMaxRequestSize() {
        assertEquals(1024 * 1024, new ClientProperties(base().build()).maxRequestSize());
        assertEquals(
                5_000_000,
                new ClientProperties(base().producerProperty("max.request.size", "5000000")
                                .build())
                        .maxRequestSize());
        assertEquals(
                300_000,
                new ClientProperties(base().clientProperty("max.request.size", 300_000)
                                .build())
                        .maxRequestSize());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> new ClientProperties(base().producerProperty("max.request.size", "big")
                                .build())
                        .maxRequestSize());
        assertEquals("max.request.size must be a number of bytes, got 'big'", e.getMessage());
        RecordSize sizes = new RecordSize(1024 * 1024);
        assertEquals(1024 * 1024 - RecordSize.ERROR_ROOM, sizes.enqueueLimit());
    }
}
