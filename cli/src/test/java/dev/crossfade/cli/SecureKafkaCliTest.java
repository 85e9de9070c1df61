package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.devservices.KafkaSecurity;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against a broker that only takes SASL_SSL (SCRAM-SHA-512, a throwaway CA): with the {@code kafka.security-protocol},
 * {@code kafka.sasl-*} and {@code kafka.ssl-*} settings in the environment, {@code work}, {@code /health},
 * {@code status}, {@code dead list --backend kafka} and {@code transfer} all reach it; without them {@code status}
 * finds Kafka unreachable; and no output holds a password.
 */
@ExtendWith(CrossfadeServices.class)
class SecureKafkaCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static KafkaSecurity security;
    private static LocalKafka kafka;

    @TempDir
    Path dir;

    @BeforeAll
    static void startBroker() {
        security = KafkaSecurity.generate();
        kafka = LocalKafka.builder().partitions(2).security(security).build().start();
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    private void assertNoPassword(String what, String output) {
        assertFalse(output.contains(security.password()), what + " printed the SASL password");
        assertFalse(output.contains(security.storePassword()), what + " printed the trust store password");
    }

    private CliTestSupport.Result run(Map<String, String> env, String... args) {
        CliTestSupport.Result r = CliTestSupport.run(env, args);
        assertNoPassword(String.join(" ", args), r.out() + r.err() + r.log());
        return r;
    }

    @Test
    void everyCommandReachesASaslSslBrokerAndNoneWithoutTheSettings(RedisService redis, TestNamespace ns)
            throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Path c = CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .set("workers.concurrency", 2)
                .set("http.port", port)
                .write();
        String cfg = c.toString();
        Map<String, String> env = security.environment();

        CliTestSupport.Result r = run(env, "enqueue", "crossfade.Echo", "hi", "--backend", "kafka", "-c", cfg);
        assertEquals(0, r.exit(), r.err() + r.log());
        // A record that is no job: the workers send it to the DLQ. Sent with the same settings, as any client must.
        Map<String, Object> p = new HashMap<>(security.clientProperties());
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p)) {
            producer.send(new ProducerRecord<>(ns.value() + ".default", "not a job".getBytes(StandardCharsets.UTF_8)))
                    .get(30, TimeUnit.SECONDS);
        }

        HttpClient http = HttpClient.newHttpClient();
        try (CliProcess work = CliProcess.start(dir, env, "work", "-c", cfg, "--backends", "kafka")) {
            await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> {
                JsonNode h = JSON.readTree(http.send(
                                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString())
                        .body());
                return "UP".equals(h.path("kafka").asText())
                        && "UP".equals(h.path("status").asText());
            });
            await().atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofSeconds(1))
                    .until(() -> run(env, "dead", "list", "--backend", "kafka", "-c", cfg)
                            .out()
                            .contains("kafka  "));
            work.close();
            assertNoPassword("work", work.output());
        }

        r = run(env, "status", "-c", cfg);
        assertEquals(0, r.exit(), r.out() + r.err() + r.log());

        for (int i = 0; i < 3; i++) {
            assertEquals(
                    0,
                    run(env, "enqueue", "crossfade.Echo", "later", "--backend", "kafka", "-c", cfg)
                            .exit());
        }
        r = run(env, "transfer", "--from", "kafka", "--to", "redis", "--queue", "default", "-c", cfg);
        assertEquals(0, r.exit(), r.err() + r.log());
        assertTrue(r.out().startsWith("moved 3 jobs of queue default from kafka to redis"), r.out());

        // The settings matter: the same commands without them cannot reach the broker.
        Map<String, String> plain = new HashMap<>();
        List.of("PATH", "HOME").forEach(k -> {
            if (System.getenv(k) != null) {
                plain.put(k, System.getenv(k));
            }
        });
        r = run(plain, "status", "-c", cfg);
        assertEquals(1, r.exit(), r.out() + r.err());
        assertTrue((r.out() + r.err()).contains("kafka unreachable"), r.out() + r.err());
        Files.deleteIfExists(c);
    }
}
