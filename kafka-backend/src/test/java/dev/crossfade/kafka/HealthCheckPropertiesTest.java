package dev.crossfade.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The health checks' admin client (the command's {@code /health} and the Spring Boot starter's indicator, which share
 * {@link KafkaAdmin#healthCheckProperties}): the security settings it is given, and timeouts as short as the check's.
 */
class HealthCheckPropertiesTest {
    @Test
    void carriesTheSecuritySettingsAndTheChecksTimeouts() {
        Map<String, Object> p = KafkaAdmin.healthCheckProperties(
                "k1:9093,k2:9093",
                Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512", "client.id", "theirs"),
                Duration.ofMillis(2500));
        assertEquals("k1:9093,k2:9093", p.get("bootstrap.servers"));
        assertEquals("SASL_SSL", p.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"));
        assertEquals("crossfade-health", p.get("client.id"));
        assertEquals(2500, p.get("request.timeout.ms"));
        assertEquals(2500, p.get("default.api.timeout.ms"));
        assertEquals(1000, p.get("socket.connection.setup.timeout.ms"));
        assertEquals(1000, p.get("socket.connection.setup.timeout.max.ms"));
        assertEquals(1000, p.get("reconnect.backoff.max.ms"));
    }

    @Test
    void aVeryShortTimeoutIsRaisedTo100Ms() {
        Map<String, Object> p = KafkaAdmin.healthCheckProperties("k1:9093", Map.of(), Duration.ofMillis(10));
        assertEquals(100, p.get("request.timeout.ms"));
        assertEquals(100, p.get("socket.connection.setup.timeout.ms"));
    }
}
