package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.LocalRedis;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A Redis that may evict keys may lose jobs: warned about by default, refused in strict mode. */
class EvictionPolicyCheckTest {
    private static LocalRedis redis;
    private final ExecutionCore core =
            ExecutionCore.builder(WorkerRegistry.builder().build()).build();

    @BeforeAll
    static void privateServer() {
        redis = LocalRedis.builder().build().start();
    }

    @AfterAll
    static void stopServer() {
        redis.close();
    }

    private void policy(String policy) {
        try (RedisBackend admin = RedisBackend.create(redis.uri().toString())) {
            admin.redis().configSet("maxmemory-policy", policy);
        }
    }

    @Test
    void evictingPolicyIsReportedAndTheRuntimeStillStarts() {
        policy("allkeys-lru");
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), "evictwarn").build())) {
            List<String> problems = backend.checkServer();
            assertEquals(1, problems.size(), problems.toString());
            assertTrue(
                    problems.get(0).contains("'allkeys-lru'") && problems.get(0).contains("lost jobs"),
                    problems.get(0));
            RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1);
            workers.start();
            assertTrue(workers.stop(java.time.Duration.ofSeconds(5)));
        }
    }

    @Test
    void strictModeRefusesToStartOnAnEvictingPolicy() {
        policy("volatile-lru");
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), "evictstrict")
                .strictEvictionPolicy(true)
                .build())) {
            RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, workers::start);
            assertTrue(
                    e.getMessage().contains("'volatile-lru'") && e.getMessage().contains("strictEvictionPolicy"),
                    e.getMessage());
            assertEquals(0, backend.redis().scard(backend.key("processes")), "never registered as a process");
        }
    }

    @Test
    void noevictionPassesEvenInStrictMode() {
        policy("noeviction");
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), "evictok")
                .strictEvictionPolicy(true)
                .build())) {
            assertEquals(List.of(), backend.checkServer());
            RedisWorkerRuntime workers = backend.workers(core, List.of("default"), 1);
            workers.start();
            assertTrue(workers.stop(java.time.Duration.ofSeconds(5)));
        }
    }

    @Test
    void disabledConfigCommandIsTolerated() {
        try (LocalRedis noConfig = LocalRedis.builder()
                        .extraArgs("--rename-command", "CONFIG", "\"\"")
                        .build()
                        .start();
                RedisBackend backend = RedisBackend.create(TestConfigs.fast(noConfig.uri(), "noconfig")
                        .strictEvictionPolicy(true)
                        .build())) {
            assertEquals(List.of(), backend.checkServer(), "nothing can be checked, nothing is claimed");
        }
    }
}
