package dev.crossfade.devservices;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Throwaway TLS and SASL/SCRAM material for a local Kafka: a self-signed certificate for 127.0.0.1 and localhost (the
 * brokers' key store, and the clients' trust store holding it as their CA), made with the JDK's {@code keytool}, and
 * one SCRAM-SHA-512 user with a random password, which {@link LocalKafka} creates when it formats its storage. Give it
 * to {@link LocalKafka.Builder#security} or {@link LocalKafkaCluster.Builder#security}; clients then need
 * {@link #clientProperties()}, and the {@code crossfade} command {@link #environment()}.
 *
 * <p>Passwords are random per instance, never on a command line (keytool reads them from its environment) and never
 * in {@link #toString()}. The files live in a temporary directory deleted when the JVM exits. Not for production use.
 */
public final class KafkaSecurity {
    /** The SASL mechanism the brokers enable and the user is created for. */
    public static final String MECHANISM = "SCRAM-SHA-512";

    private final Path directory;
    private final String username;
    private final String password;
    private final String storePassword;

    private KafkaSecurity(Path directory, String username, String password, String storePassword) {
        this.directory = directory;
        this.username = username;
        this.password = password;
        this.storePassword = storePassword;
    }

    /**
     * Generates the certificate and stores (three keytool runs, a second or two) and a user named {@code crossfade}.
     *
     * @throws DevServiceException if keytool is missing or fails
     */
    public static KafkaSecurity generate() {
        Path dir;
        try {
            dir = Files.createTempDirectory("crossfade-kafka-tls-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory for Kafka TLS", e);
        }
        Processes.trackDirectory(dir);
        KafkaSecurity s = new KafkaSecurity(dir, "crossfade", randomSecret(), randomSecret());
        s.keytool(
                "-genkeypair",
                "-alias",
                "broker",
                "-keyalg",
                "RSA",
                "-keysize",
                "2048",
                "-validity",
                "7",
                "-dname",
                "CN=crossfade-devservices",
                "-ext",
                "SAN=ip:127.0.0.1,dns:localhost",
                "-ext",
                "BC:c=ca:true",
                "-storetype",
                "PKCS12",
                "-keystore",
                s.keystore().toString(),
                "-storepass:env",
                "STOREPASS");
        Path cert = dir.resolve("broker.pem");
        s.keytool(
                "-exportcert",
                "-rfc",
                "-alias",
                "broker",
                "-keystore",
                s.keystore().toString(),
                "-storepass:env",
                "STOREPASS",
                "-file",
                cert.toString());
        s.keytool(
                "-importcert",
                "-noprompt",
                "-alias",
                "ca",
                "-file",
                cert.toString(),
                "-storetype",
                "PKCS12",
                "-keystore",
                s.truststore().toString(),
                "-storepass:env",
                "STOREPASS");
        return s;
    }

    private static String randomSecret() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private void keytool(String... args) {
        Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
        List<String> cmd = new ArrayList<>();
        cmd.add(Files.isExecutable(keytool) ? keytool.toString() : "keytool");
        cmd.addAll(List.of(args));
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.environment().put("STOREPASS", storePassword);
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new DevServiceException("keytool " + args[0] + " failed: " + out.trim());
            }
        } catch (IOException e) {
            throw new DevServiceException("cannot run keytool (a JDK, not a JRE, is needed)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted while running keytool", e);
        }
    }

    /** The brokers' PKCS12 key store: the private key and the self-signed certificate. */
    Path keystore() {
        return directory.resolve("broker-keystore.p12");
    }

    /** The clients' PKCS12 trust store, holding the brokers' certificate as their CA. */
    public Path truststore() {
        return directory.resolve("truststore.p12");
    }

    /** The password of both stores. */
    public String storePassword() {
        return storePassword;
    }

    /** The SCRAM user. */
    public String username() {
        return username;
    }

    /** The SCRAM user's password. */
    public String password() {
        return password;
    }

    /** What every client needs for the SASL_SSL listener: protocol, mechanism, JAAS login and trust store. */
    public Map<String, String> clientProperties() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("security.protocol", "SASL_SSL");
        p.put("sasl.mechanism", MECHANISM);
        p.put(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + username
                        + "\" password=\"" + password + "\";");
        p.put("ssl.truststore.location", truststore().toString());
        p.put("ssl.truststore.type", "PKCS12");
        p.put("ssl.truststore.password", storePassword);
        return Map.copyOf(p);
    }

    /** The same, as the {@code crossfade} command's environment variables ({@code CROSSFADE_KAFKA_*}). */
    public Map<String, String> environment() {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CROSSFADE_KAFKA_SECURITY_PROTOCOL", "SASL_SSL");
        env.put("CROSSFADE_KAFKA_SASL_MECHANISM", MECHANISM);
        env.put("CROSSFADE_KAFKA_SASL_USERNAME", username);
        env.put("CROSSFADE_KAFKA_SASL_PASSWORD", password);
        env.put("CROSSFADE_KAFKA_SSL_TRUSTSTORE", truststore().toString());
        env.put("CROSSFADE_KAFKA_SSL_TRUSTSTORE_PASSWORD", storePassword);
        return Map.copyOf(env);
    }

    /** The broker properties of a listener named {@code listener} that speaks SASL_SSL with this material. */
    Map<String, String> brokerProperties(String listener) {
        String l = "listener.name." + listener.toLowerCase(java.util.Locale.ROOT) + ".";
        Map<String, String> p = new LinkedHashMap<>();
        p.put(l + "sasl.enabled.mechanisms", MECHANISM);
        p.put(
                l + MECHANISM.toLowerCase(java.util.Locale.ROOT) + ".sasl.jaas.config",
                "org.apache.kafka.common.security.scram.ScramLoginModule required;");
        p.put(l + "ssl.keystore.location", keystore().toString());
        p.put(l + "ssl.keystore.type", "PKCS12");
        p.put(l + "ssl.keystore.password", storePassword);
        p.put(l + "ssl.key.password", storePassword);
        return p;
    }

    /** The {@code kafka-storage format} argument that creates the user. */
    List<String> formatArguments() {
        return List.of("--add-scram", MECHANISM + "=[name=" + username + ",password=" + password + "]");
    }

    @Override
    public String toString() {
        return "KafkaSecurity[SASL_SSL " + MECHANISM + " user " + username + ", trust store " + truststore() + "]";
    }
}
