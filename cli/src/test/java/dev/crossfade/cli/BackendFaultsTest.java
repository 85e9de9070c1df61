package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Real {@code crossfade} processes against a broker that hangs (a private broker, SIGSTOPped) or does not exist (a
 * closed port): health keeps answering from memory and tells which backend is down, a Redis-only worker never
 * touches Kafka, and status names what it cannot reach within seconds.
 */
@ExtendWith(CrossfadeServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BackendFaultsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private LocalKafka kafka;

    @TempDir
    Path dir;

    @AfterAll
    void stopKafka() {
        if (kafka != null) {
            kafka.close();
        }
    }

    private synchronized LocalKafka kafka() {
        if (kafka == null) {
            kafka = LocalKafka.builder().partitions(2).build().start();
        }
        return kafka;
    }

    private Path config(RedisService redis, TestNamespace ns, String bootstrap, int httpPort) throws IOException {
        return CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), bootstrap, ns)
                .unset("flags.start-wait")
                .set("workers.concurrency", 2)
                .set("http.port", httpPort)
                .set("http.token", CliTestSupport.HTTP_TOKEN)
                .write();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private HttpResponse<String> get(int port, String path) throws Exception {
        return http.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                        .timeout(Duration.ofSeconds(1))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private JsonNode health(int port) throws Exception {
        return JSON.readTree(get(port, "/health").body());
    }

    @Test
    void healthAndMetricsAnswerWithinASecondWhileTheBrokerIsFrozen(RedisService redis, TestNamespace ns)
            throws Exception {
        LocalKafka broker = kafka();
        int port = freePort();
        Path c = config(redis, ns, broker.bootstrapServers(), port);
        try (CliProcess work = CliProcess.start(dir, Map.of(), "work", "-c", c.toString())) {
            work.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(60))
                    .ignoreExceptions()
                    .until(() -> "UP".equals(health(port).path("status").asText()));
            // Every probe path the Kubernetes manifests in deploy/ name answers 200 on a healthy worker.
            for (String path : DeployManifests.probePaths()) {
                HttpResponse<String> r = get(port, path);
                assertEquals(200, r.statusCode(), "deploy/ probe " + path + ": " + r.body());
            }
            broker.pause();
            try {
                List<Long> slow = new ArrayList<>();
                long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (System.nanoTime() < end) {
                    for (String path : new String[] {"/health", "/metrics", "/health/live"}) {
                        long t = System.nanoTime();
                        // Throws on the client's 1 s timeout: that is the failure.
                        HttpResponse<String> r = get(port, path);
                        long ms = (System.nanoTime() - t) / 1_000_000;
                        assertTrue(ms < 1000, path + " took " + ms + " ms");
                        assertTrue(r.statusCode() == 200 || r.statusCode() == 503, path + ": " + r.statusCode());
                        slow.add(ms);
                    }
                    Thread.sleep(300);
                }
                assertTrue(slow.size() >= 20, "answered repeatedly: " + slow);
                JsonNode h = health(port);
                assertEquals("UP", h.path("redis").asText(), h.toString());
                assertTrue(h.path("kafka").asText().startsWith("DOWN"), h.toString());
                assertEquals("DOWN", h.path("status").asText(), h.toString());
                assertTrue(
                        h.path("backends").path("kafka").path("error").asText().contains("does not answer"),
                        h.toString());
                assertEquals(200, get(port, "/health/live").statusCode(), "a hung broker is no reason to restart");
                assertEquals(503, get(port, "/health/ready").statusCode());
                assertEquals(200, get(port, "/health/redis").statusCode());
                assertEquals(503, get(port, "/health/kafka").statusCode());
                assertTrue(get(port, "/metrics").body().contains("crossfade_backend_up{backend=\"kafka\"} 0.0"));

                // status against the frozen broker: one line naming it, within seconds.
                long t = System.nanoTime();
                try (CliProcess status = CliProcess.start(dir, Map.of(), "status", "-c", c.toString())) {
                    assertEquals(1, status.awaitExit(Duration.ofSeconds(20)));
                    long ms = (System.nanoTime() - t) / 1_000_000;
                    assertTrue(ms < 15_000, "status took " + ms + " ms");
                    assertTrue(
                            status.output()
                                    .contains("crossfade status: kafka unreachable at " + broker.bootstrapServers()
                                            + ": "),
                            status.output());
                    assertTrue(status.output().contains("redis:    queues"), status.output());
                }
            } finally {
                broker.resume();
            }
            await().atMost(Duration.ofSeconds(60))
                    .ignoreExceptions()
                    .until(() -> "UP".equals(health(port).path("kafka").asText()));
            String out = work.output();
            assertEquals(
                    1,
                    out.lines().filter(l -> l.contains("kafka unreachable at")).count(),
                    out);
            assertTrue(out.lines().anyMatch(l -> l.contains("kafka reachable again at")), out);
        }
    }

    @Test
    void aRedisOnlyWorkerCreatesNoKafkaClientAndIsHealthy(RedisService redis, TestNamespace ns) throws Exception {
        int port = freePort();
        Path c = config(redis, ns, "127.0.0.1:" + freePort(), port);
        // Kafka's clients at INFO: creating any one of them would log its configuration.
        try (CliProcess work = CliProcess.start(
                dir,
                Map.of(),
                List.of("-Dorg.slf4j.simpleLogger.log.org.apache.kafka=info"),
                "work",
                "-c",
                c.toString(),
                "--backends",
                "redis")) {
            work.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .until(() -> get(port, "/health").statusCode() == 200);
            JsonNode h = health(port);
            assertEquals("UP", h.path("status").asText(), h.toString());
            assertFalse(h.toString().toLowerCase(Locale.ROOT).contains("kafka"), h.toString());
            assertFalse(get(port, "/api/status").body().contains("\"kafka\":{"), "no Kafka backend in the status");
            // Long enough for any Kafka client to have tried the closed port a few times.
            Thread.sleep(3000);
            String out = work.output();
            List<String> kafkaLines = out.lines()
                    .filter(l -> l.toLowerCase(Locale.ROOT).contains("kafka"))
                    .toList();
            assertEquals(List.of(), kafkaLines, out);
        }
    }

    @Test
    void aWorkerOnBothBackendsWorksRedisWhileTheBrokerIsAbsent(RedisService redis, TestNamespace ns) throws Exception {
        int port = freePort();
        Path c = config(redis, ns, "127.0.0.1:" + freePort(), port);
        try (CliProcess work = CliProcess.start(dir, Map.of(), "work", "-c", c.toString())) {
            work.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));
            CliTestSupport.Result r =
                    CliTestSupport.run("enqueue", BuiltInWorkers.LEDGER, "1", "--backend", "redis", "-c", c.toString());
            assertEquals(0, r.exit(), r.err());
            String jid = r.out().strip();
            try (Jedis j = new Jedis(redis.uri())) {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> "1".equals(j.hget(BuiltInWorkers.ledgerKey(ns.value() + ":"), jid)));
            }
            JsonNode h = health(port);
            assertEquals(200, get(port, "/health/live").statusCode(), h.toString());
            assertEquals(503, get(port, "/health/ready").statusCode(), h.toString());
            assertEquals(
                    "STARTING", h.path("backends").path("kafka").path("workers").asText(), h.toString());
            assertEquals(200, get(port, "/health/redis").statusCode(), h.toString());
        }
    }

    @Test
    void statusAgainstAnAbsentBrokerNamesItInOneLineWithinSeconds(RedisService redis, TestNamespace ns)
            throws Exception {
        String bootstrap = "127.0.0.1:" + freePort();
        Path c = config(redis, ns, bootstrap, 0);
        long t = System.nanoTime();
        try (CliProcess status = CliProcess.start(dir, Map.of(), "status", "-c", c.toString())) {
            int exit = status.awaitExit(Duration.ofSeconds(30));
            long ms = (System.nanoTime() - t) / 1_000_000;
            String out = status.output();
            assertEquals(1, exit, out);
            assertTrue(ms < 10_000, "status took " + ms + " ms:\n" + out);
            List<String> kafkaLines = out.lines()
                    .filter(l -> l.toLowerCase(Locale.ROOT).contains("kafka"))
                    .toList();
            assertTrue(kafkaLines.size() < 10, out);
            assertEquals(
                    1,
                    out.lines()
                            .filter(l -> l.startsWith("crossfade status: kafka unreachable at " + bootstrap + ": "))
                            .count(),
                    out);
            assertTrue(out.contains("Connection refused"), "the cause: " + out);
            assertTrue(out.contains("redis:    queues"), "what it reached: " + out);
        }
    }
}
