package dev.crossfade.example.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Backend;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.file.FlagsFile;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The example application as deployed: its web server on a random port, real Redis, a real Kafka broker of this
 * class's own (it is stopped halfway) and flags from a file set to send every job to Kafka.
 */
// Before Spring's extension, so that the servers outlive the application context (closed by @DirtiesContext) and the
// application's workers leave while both are still up.
@ExtendWith({CrossfadeServices.class, ExampleApplicationTest.OwnKafka.class})
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@DirtiesContext
class ExampleApplicationTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    private static TestNamespace ns;
    private static RedisService redis;
    private static LocalKafka kafka;
    private static Path flags;

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @LocalServerPort
    int port;

    @Autowired
    Outbox outbox;

    @Autowired
    Stock stock;

    /**
     * Redis is the run's shared one; the Kafka broker is this class's own ({@link OwnKafka}), since the test stops it.
     */
    @BeforeAll
    static void startServices(RedisService sharedRedis, TestNamespace namespace) {
        redis = sharedRedis;
        ns = namespace;
        flags = dir.resolve("flags.json");
        FlagsFile file = FlagsFile.at(flags);
        file.createIfMissing();
        file.setKafkaPercent(100);
    }

    /** Starts this class's broker; JUnit closes it with the class's context, after every other extension's end. */
    static final class OwnKafka implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) {
            kafka = LocalKafka.builder().partitions(1).build().start();
            context.getStore(ExtensionContext.Namespace.create(OwnKafka.class)).put("kafka", kafka);
        }
    }

    @DynamicPropertySource
    static void services(DynamicPropertyRegistry properties) {
        properties.add("crossfade.redis.url", () -> redis.uri().toString());
        properties.add("crossfade.redis.namespace", () -> ns.value());
        properties.add("crossfade.kafka.bootstrap", () -> kafka.bootstrapServers());
        properties.add("crossfade.kafka.topic-prefix", () -> ns.value());
        properties.add("crossfade.kafka.partitions", () -> "1");
        properties.add("crossfade.flags.file", () -> flags.toString());
        properties.add("crossfade.router.kafka-timeout", () -> "1s");
        properties.add("crossfade.workers.shutdown-timeout", () -> "2s");
    }

    @Test
    void ordersRunOnceThroughTheRouterAndFallBackToRedisWhenKafkaIsDown() throws Exception {
        HttpResponse<String> placed =
                post("/orders", "{\"orderId\":\"o-1\",\"sku\":\"tea\",\"quantity\":2,\"email\":\"ann@example.com\"}");
        assertThat(placed.statusCode()).as(placed.body()).isEqualTo(202);
        List<String> jids = jids(placed);
        assertThat(jids).hasSize(2);

        // The flag sends the order's jobs to Kafka; each runs once, on its bean worker.
        await().atMost(Duration.ofSeconds(60)).until(() -> receipts("o-1").size() == 1 && stock.reserved("tea") == 2);
        await().during(Duration.ofMillis(500))
                .atMost(Duration.ofSeconds(5))
                .until(() -> receipts("o-1").size() == 1 && stock.reserved("tea") == 2);
        Outbox.Receipt first = receipts("o-1").get(0);
        assertThat(first.jid()).isEqualTo(jids.get(1));
        assertThat(first.backend()).isEqualTo(Backend.KAFKA);

        JsonNode health = health("/actuator/health", 200);
        assertThat(health.at("/status").asText()).isEqualTo("UP");
        for (String component : List.of("crossfadeRedis", "crossfadeKafka", "crossfadeFlags")) {
            assertThat(health.at("/components/" + component + "/status").asText())
                    .as(component)
                    .isEqualTo("UP");
        }
        // The info endpoint says where the flags come from and how they split traffic.
        JsonNode info = health("/actuator/info", 200).at("/crossfade");
        assertThat(info.at("/flagSource").asText()).contains(flags.getFileName().toString());
        assertThat(info.at("/kafkaShare").asDouble()).isEqualTo(1.0);
        assertThat(info.at("/killSwitch").asBoolean()).isFalse();

        kafka.stop();

        await().atMost(Duration.ofSeconds(30))
                .until(() -> "DOWN"
                        .equals(health("/actuator/health", null)
                                .at("/components/crossfadeKafka/status")
                                .asText()));
        // The application as a whole is DOWN (503), its Redis and flags are not.
        JsonNode down = health("/actuator/health", 503);
        assertThat(down.at("/components/crossfadeRedis/status").asText()).isEqualTo("UP");
        // Still ready for orders: they go to Redis.
        assertThat(health("/actuator/health/readiness", 200).at("/status").asText())
                .isEqualTo("UP");

        HttpResponse<String> fallback =
                post("/orders", "{\"orderId\":\"o-2\",\"sku\":\"tea\",\"quantity\":1,\"email\":\"bob@example.com\"}");
        assertThat(fallback.statusCode()).as(fallback.body()).isEqualTo(202);
        String receiptJid = jids(fallback).get(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> receipts("o-2").size() == 1 && stock.reserved("tea") == 3);
        Outbox.Receipt second = receipts("o-2").get(0);
        assertThat(second.jid()).isEqualTo(receiptJid);
        assertThat(second.backend()).isEqualTo(Backend.REDIS);
    }

    private List<Outbox.Receipt> receipts(String orderId) {
        return outbox.sent().stream().filter(r -> r.orderId().equals(orderId)).toList();
    }

    private static List<String> jids(HttpResponse<String> accepted) throws IOException {
        return JSON.readValue(accepted.body(), Accepted.class).jids();
    }

    /** The controller's answer, read with the test's own JSON mapper. */
    record Accepted(String orderId, List<String> jids) {}

    private HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return http.send(
                HttpRequest.newBuilder(uri(path))
                        .timeout(Duration.ofSeconds(10))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The health JSON at {@code path}; its HTTP status must be {@code expectedStatus} unless that is null. */
    private JsonNode health(String path, Integer expectedStatus) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(uri(path))
                        .timeout(Duration.ofSeconds(10))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (expectedStatus != null) {
            assertThat(r.statusCode()).as(path + " " + r.body()).isEqualTo(expectedStatus);
        }
        return JSON.readTree(r.body());
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }
}
