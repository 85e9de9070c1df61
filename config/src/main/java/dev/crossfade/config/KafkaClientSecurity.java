package dev.crossfade.config;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Kafka client properties that the {@code kafka.security-protocol}, {@code kafka.sasl-*} and
 * {@code kafka.ssl-*} settings stand for, given to every client a process makes (the backend's, and the health
 * checks' own admin clients). Plain strings, so this module needs no Kafka dependency. The result holds secrets:
 * hand it to clients, never to a log line.
 */
public final class KafkaClientSecurity {
    private KafkaClientSecurity() {}

    /** Empty for PLAINTEXT; otherwise {@code security.protocol} and the {@code sasl.*} and {@code ssl.*} it needs. */
    public static Map<String, String> properties(CrossfadeConfig config) {
        Map<String, String> p = new LinkedHashMap<>();
        String protocol = config.string("kafka.security-protocol").trim();
        if (protocol.equals("PLAINTEXT")) {
            return Map.of();
        }
        p.put("security.protocol", protocol);
        if (protocol.startsWith("SASL_")) {
            String mechanism = config.string("kafka.sasl-mechanism").trim();
            String module = mechanism.equals("PLAIN")
                    ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                    : "org.apache.kafka.common.security.scram.ScramLoginModule";
            p.put("sasl.mechanism", mechanism);
            p.put(
                    "sasl.jaas.config",
                    module + " required username=\"" + jaasQuoted(config.string("kafka.sasl-username"))
                            + "\" password=\"" + jaasQuoted(config.string("kafka.sasl-password")) + "\";");
        }
        if (protocol.endsWith("SSL") && config.isSet("kafka.ssl-truststore")) {
            String store = config.string("kafka.ssl-truststore").trim();
            p.put("ssl.truststore.location", store);
            p.put("ssl.truststore.type", store.endsWith(".jks") ? "JKS" : "PKCS12");
            if (config.isSet("kafka.ssl-truststore-password")) {
                p.put("ssl.truststore.password", config.string("kafka.ssl-truststore-password"));
            }
        }
        return Map.copyOf(p);
    }

    /** JAAS reads a quoted value with backslash escapes, so a password may hold quotes and backslashes. */
    private static String jaasQuoted(String v) {
        return v.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}
