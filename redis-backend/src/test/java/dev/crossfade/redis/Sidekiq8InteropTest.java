package dev.crossfade.redis;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.worker.WorkerRegistry;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The interop scenarios against Sidekiq 8.1.7 on JRuby (the sidekiq8 kit), plus what only Sidekiq 7/8 have: capsules
 * and the Metrics page.
 */
class Sidekiq8InteropTest extends SidekiqInteropTest {
    @Override
    Ruby.Kit kit() {
        return Ruby.Kit.SIDEKIQ8;
    }

    @Test
    void metricsPageListsJavaJobClassesAndProcessesShowTheirCapsules() throws Exception {
        RedisBackend backend = backend();
        for (int i = 0; i < 3; i++) {
            backend.queue().enqueue(Job.of("MeteredJavaWorker", i));
        }
        try (RedisWorkerRuntime workers = backend.workers(
                core(WorkerRegistry.builder()
                        .register("MeteredJavaWorker", (args, ctx) -> {})
                        .build()),
                List.of("default"),
                2)) {
            workers.start();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> "3".equals(backend.redis().get("stat:processed")));
            JsonNode capsules = null;
            for (JsonNode p : ruby().call("inspect").get("processes")) {
                if (p.get("identity").asText().equals(workers.identity())) {
                    capsules = p.get("capsules");
                }
            }
            assertNotNull(capsules, "Sidekiq::Process#capsules");
            assertEquals(2, capsules.get("default").get("concurrency").asInt());
            assertEquals(
                    1, capsules.get("default").get("weights").get("default").asInt());
        }
        JsonNode totals = ruby().call("metrics").get("MeteredJavaWorker");
        assertNotNull(totals, "Sidekiq::Metrics::Query lists the Java class");
        assertEquals(3, totals.get("p").asInt());
        assertEquals(0, totals.path("f").asInt());
        String page = page("/metrics");
        assertTrue(page.contains("MeteredJavaWorker"), "/metrics lists the Java class");
    }
}
