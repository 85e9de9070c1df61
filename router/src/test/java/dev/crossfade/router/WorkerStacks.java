package dev.crossfade.router;

import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import java.nio.file.Files;
import java.nio.file.Path;
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
        return kafka(server.bootstrapServers(), ns);
    }

    KafkaBackend kafka(String bootstrapServers, TestNamespace ns) {
        return closeLater(KafkaBackend.create(KafkaBackendConfig.custom()
                .bootstrapServers(bootstrapServers)
                .topicPrefix(ns.value())
                .partitions(6)
                .build()));
    }

    /**
     * Starts {@link WorkerJvmMain} as a child JVM on the test's servers and waits until it works; it is stopped (stdin
     * closed, then killed if need be) after the test.
     */
    ChildJvm workerJvm(RedisService redis, String kafkaBootstrap, TestNamespace ns, Duration lease) throws Exception {
        Path out = Files.createTempFile("worker-jvm-", ".out");
        ChildJvm p = ChildJvm.builder(WorkerJvmMain.class)
                .heap("256m")
                .quickStart()
                .args(
                        redis.uri().toString(),
                        ns.value() + ":",
                        kafkaBootstrap,
                        ns.value(),
                        Long.toString(lease.toMillis()))
                .outputTo(out)
                .start();
        closeLater(() -> {
            p.closeStdin();
            if (!p.awaitExit(Duration.ofSeconds(20))) {
                p.kill();
            }
            Files.deleteIfExists(out);
        });
        try {
            p.awaitReady(Duration.ofSeconds(60));
        } catch (IllegalStateException e) {
            throw new IllegalStateException("worker JVM did not start", e);
        }
        return p;
    }
}
