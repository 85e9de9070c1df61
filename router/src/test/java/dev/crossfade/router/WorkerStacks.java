package dev.crossfade.router;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/**
 * Base of tests that stand up several worker "processes" (each its own clients on shared servers and namespace):
 * backend factories, and closing everything they made, newest first.
 */
abstract class WorkerStacks {
    private final List<AutoCloseable> closing = new ArrayList<>();

    <T extends AutoCloseable> T closeLater(T c) {
        closing.add(0, c);
        return c;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
    }

    RedisBackend redis(RedisService server, TestNamespace ns) {
        return closeLater(RedisBackend.create(RedisBackendConfig.custom()
                .url(server.uri().toString())
                .namespace(ns.value() + ":")
                .pollInterval(Duration.ofMillis(100))
                .build()));
    }

    KafkaBackend kafka(KafkaService server, TestNamespace ns) {
        return closeLater(KafkaBackend.create(KafkaBackendConfig.custom()
                .bootstrapServers(server.bootstrapServers())
                .topicPrefix(ns.value())
                .partitions(6)
                .build()));
    }
}
