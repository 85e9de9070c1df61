package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.metrics.MetricsReporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Against a real broker: the configured client properties reach every client the backend actually makes, and the
 * topics it creates carry their retention. A metrics reporter, itself given through {@code clientProperties}, sees
 * each client's configuration when the client starts; a client built without the configured properties would have
 * no reporter and go unseen.
 */
@ExtendWith(CrossfadeServices.class)
class ClientSettingsReachEveryClientTest {
    /** Client ids of the clients started with the marker property, as their reporters saw them. */
    private static final Set<String> SEEN = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private static final String MARKER = "security.protocol";

    /** Kafka instantiates it per client, from the {@code metric.reporters} property. */
    public static final class Recorder implements MetricsReporter {
        @Override
        public void configure(Map<String, ?> configs) {
            if ("PLAINTEXT".equals(configs.get(MARKER))) {
                SEEN.add(String.valueOf(configs.get("client.id")));
            }
        }

        @Override
        public void init(List<KafkaMetric> metrics) {}

        @Override
        public void metricChange(KafkaMetric metric) {}

        @Override
        public void metricRemoval(KafkaMetric metric) {}

        @Override
        public void close() {}
    }

    @Test
    void everyClientGetsTheConfiguredPropertiesAndTopicsTheirRetention(KafkaService kafka, TestNamespace ns)
            throws Exception {
        String prefix = ns.value();
        SEEN.clear();
        KafkaBackendConfig.Builder config = KafkaFixture.config(
                        kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                .clientProperty(MARKER, "PLAINTEXT")
                .clientProperty("metric.reporters", Recorder.class.getName())
                .meterRegistry(new SimpleMeterRegistry());
        try (KafkaBackend backend = KafkaBackend.create(config.build())) {
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register("Doomed", (a, ctx) -> {
                        throw new IllegalStateException("no");
                    })
                    .build();
            backend.queue().enqueue(Job.builder("Doomed").retry(0).build());
            backend.queue().enqueueAll(List.of(Job.of("Later", 1), Job.of("Later", 2)), Duration.ofSeconds(5));
            WorkerRuntime group =
                    backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 1);
            group.start();
            try {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> !backend.admin().deadLetters("default", 10).isEmpty());
            } finally {
                group.stop(Duration.ofSeconds(10));
            }
            assertTrue(backend.admin().replayDeadLetters("default") >= 1);
            backend.admin().lag("default");
            // Once the stopped workers have left their groups.
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptions()
                    .until(() -> backend.admin()
                                    .transfer("default", InMemoryBackend.fake().queue())
                            != null);
            try (KafkaBackend share = KafkaBackend.create(config.mode(KafkaBackendConfig.Mode.SHARE)
                    .groupId(prefix + ".share")
                    .build())) {
                WorkerRuntime w = share.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 1);
                w.start();
                try {
                    // The share consumer is made on the runtime's own thread: wait for it before stopping.
                    await().atMost(Duration.ofSeconds(30))
                            .until(() -> SEEN.stream().anyMatch(id -> id.startsWith("crossfade-kafka-share-")));
                } finally {
                    w.stop(Duration.ofSeconds(10));
                }
            }

            Set<String> kinds = new TreeSet<>();
            for (String id : SEEN) {
                kinds.add(
                        id.startsWith("crossfade-admin-")
                                ? "admin"
                                : id.endsWith("-bulk")
                                        ? "bulk producer"
                                        : id.endsWith("-bounded")
                                                ? "bounded producer"
                                                : id.startsWith("crossfade-producer-")
                                                        ? "producer"
                                                        : id.startsWith("crossfade-reader-")
                                                                ? "reader"
                                                                : id.endsWith("-scheduler")
                                                                        ? "scheduler consumer"
                                                                        : id.startsWith("crossfade-kafka-share-")
                                                                                ? "share consumer"
                                                                                : id.startsWith("crossfade-kafka-")
                                                                                        ? "group consumer"
                                                                                        : "other: " + id);
            }
            assertEquals(
                    new TreeSet<>(List.of(
                            "admin",
                            "bulk producer",
                            "bounded producer",
                            "producer",
                            "reader",
                            "scheduler consumer",
                            "share consumer",
                            "group consumer")),
                    kinds);
            // DLQ listing, replay, transfer (jobs topic and delay tiers): each its own reader.
            assertTrue(
                    SEEN.stream()
                                    .filter(id -> id.startsWith("crossfade-reader-"))
                                    .count()
                            >= 4,
                    SEEN.toString());

            try (Admin admin = Admin.create(backend.clients().admin())) {
                Map<String, String> retention = new java.util.HashMap<>();
                List<ConfigResource> resources = new ArrayList<>();
                for (String t : backend.topics().all("default")) {
                    resources.add(new ConfigResource(ConfigResource.Type.TOPIC, t));
                }
                admin.describeConfigs(resources).all().get(30, TimeUnit.SECONDS).forEach((r, c) -> {
                    ConfigEntry e = c.get("retention.ms");
                    retention.put(
                            r.name(),
                            e.source() == ConfigEntry.ConfigSource.DYNAMIC_TOPIC_CONFIG ? e.value() : "default");
                });
                KafkaBackendConfig c = backend.config();
                assertEquals(
                        Long.toString(c.dlqRetention().toMillis()),
                        retention.get(backend.topics().dlq("default")));
                assertEquals("default", retention.get(backend.topics().jobs("default")));
                for (String t : backend.topics().delayTopics("default")) {
                    assertEquals(Long.toString(c.delayRetention().toMillis()), retention.get(t), t);
                }
            }
        }
    }
}
