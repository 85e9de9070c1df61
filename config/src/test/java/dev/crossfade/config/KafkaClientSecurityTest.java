package dev.crossfade.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the Kafka security settings become for the clients, and the one-line errors when they are incomplete. */
class KafkaClientSecurityTest {
    @TempDir
    Path dir;

    @Test
    void plaintextAddsNothing() {
        assertEquals(Map.of(), KafkaClientSecurity.properties(CrossfadeConfig.defaults()));
    }

    @Test
    void saslSslGivesProtocolMechanismLoginAndTrustStore() throws Exception {
        Path store = Files.writeString(dir.resolve("ca.p12"), "x");
        CrossfadeConfig c = CrossfadeConfig.load(
                null,
                Map.of(
                        "CROSSFADE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                        "CROSSFADE_KAFKA_SASL_USERNAME", "app",
                        "CROSSFADE_KAFKA_SASL_PASSWORD", "pa\"ss\\s3cr3t",
                        "CROSSFADE_KAFKA_SSL_TRUSTSTORE", store.toString(),
                        "CROSSFADE_KAFKA_SSL_TRUSTSTORE_PASSWORD", "store-pw"));
        Map<String, String> p = KafkaClientSecurity.properties(c);
        assertEquals("SASL_SSL", p.get("security.protocol"));
        assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"));
        assertEquals(
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"app\" "
                        + "password=\"pa\\\"ss\\\\s3cr3t\";",
                p.get("sasl.jaas.config"));
        assertEquals(store.toString(), p.get("ssl.truststore.location"));
        assertEquals("PKCS12", p.get("ssl.truststore.type"));
        assertEquals("store-pw", p.get("ssl.truststore.password"));
        assertFalse(c.shown("kafka.sasl-password").contains("s3cr3t"));
        assertFalse(Redaction.redact(p.get("sasl.jaas.config")).contains("s3cr3t"));
    }

    @Test
    void saslWithoutAPasswordIsOneLineNamingTheKey() {
        ConfigException e = assertThrows(
                ConfigException.class,
                () -> CrossfadeConfig.load(
                        null,
                        Map.of(
                                "CROSSFADE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                                "CROSSFADE_KAFKA_SASL_USERNAME", "app")));
        assertTrue(e.getMessage().contains("kafka.sasl-password"), e.getMessage());
        assertTrue(e.getMessage().contains("CROSSFADE_KAFKA_SASL_PASSWORD"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void aMissingTrustStoreAndAnUnknownProtocolAreRefused() {
        ConfigException e = assertThrows(
                ConfigException.class,
                () -> CrossfadeConfig.load(
                        null,
                        Map.of(
                                "CROSSFADE_KAFKA_SECURITY_PROTOCOL",
                                "SSL",
                                "CROSSFADE_KAFKA_SSL_TRUSTSTORE",
                                dir.resolve("nope.p12").toString())));
        assertTrue(e.getMessage().contains("kafka.ssl-truststore"), e.getMessage());
        e = assertThrows(
                ConfigException.class,
                () -> CrossfadeConfig.load(null, Map.of("CROSSFADE_KAFKA_SECURITY_PROTOCOL", "TLS")));
        assertTrue(e.getMessage().contains("kafka.security-protocol"), e.getMessage());
    }
}
