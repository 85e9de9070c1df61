package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** The commands against a real Redis and a real Kafka broker (shared per test JVM). */
@ExtendWith(CrossfadeServices.class)
class CommandsIntegrationTest {
    @TempDir
    Path dir;

    private Path config(RedisService redis, KafkaService kafka, TestNamespace ns, String redisUrl) throws IOException {
        return CliTestSupport.settings(dir, redisUrl == null ? CliTestSupport.securedUrl(redis) : redisUrl, kafka, ns)
                .write();
    }

    @Test
    void enqueueStatusAndDeadWorkAgainstRealServers(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws IOException {
        String c = config(redis, kafka, ns, null).toString();
        CliTestSupport.Result r = CliTestSupport.run(
                "enqueue", "crossfade.Echo", "{\"a\":1}", "two", "--count", "3", "--backend", "redis", "-c", c);
        assertEquals(0, r.exit(), r.err());
        assertEquals(3, r.out().strip().lines().count(), r.out());
        assertTrue(r.out().strip().lines().allMatch(l -> l.matches("[0-9a-f]{24}")), r.out());

        r = CliTestSupport.run("enqueue", "crossfade.Echo", "k", "--backend", "kafka", "-c", c);
        assertEquals(0, r.exit(), r.err());

        r = CliTestSupport.run("status", "-c", c);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("default=3"), r.out());
        assertTrue(r.out().contains("0.0% Kafka") || r.out().contains("0% Kafka"), r.out());
        assertTrue(r.out().contains(ns.value() + ".default"), "lag lists the queue topic: " + r.out());

        r = CliTestSupport.run("dead", "list", "-c", c);
        assertEquals(0, r.exit(), r.err());
    }

    @Test
    void anUnreachableRedisIsOneLineNotAStackTrace(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws IOException {
        String c = config(redis, kafka, ns, CliTestSupport.withPassword("redis://127.0.0.1:1/0"))
                .toString();
        CliTestSupport.Result r = CliTestSupport.run("status", "-c", c);
        assertEquals(1, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("crossfade status:"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void aGarbageFlagsFileIsReportedAndRoutingStaysOnRedis(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws IOException {
        String c = config(redis, kafka, ns, null).toString();
        Files.writeString(dir.resolve("flags.json"), "{{{ garbage");
        CliTestSupport.Result r = CliTestSupport.run("status", "-c", c);
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("UNAVAILABLE: routing to Redis"), r.out());
    }
}
