package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigTest {
    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path f = dir.resolve("crossfade.yml");
        Files.writeString(f, text);
        return f;
    }

    @Test
    void fileThenEnvironmentOverDefaults() throws IOException {
        Path f = yaml("""
                kafka:
                  bootstrap: broker:9092
                  mode: share
                workers:
                  queues: [default, critical]
                router:
                  kafka-timeout: 750ms
                redis:
                  sidekiq-version: 8
                """);
        CrossfadeConfig c =
                CrossfadeConfig.load(f, Map.of("CROSSFADE_KAFKA_BOOTSTRAP", "other:9093", "LD_SDK_KEY", "sdk-123"));
        assertEquals("other:9093", c.string("kafka.bootstrap"), "environment wins");
        assertEquals("share", c.string("kafka.mode"));
        assertEquals(List.of("default", "critical"), c.list("workers.queues"));
        assertEquals(Duration.ofMillis(750), c.duration("router.kafka-timeout"));
        assertEquals("sdk-123", c.string("flags.sdk-key"));
        assertEquals("redis://127.0.0.1:6379/0", c.string("redis.url"), "default");
        assertEquals(
                dev.crossfade.redis.SidekiqVersion.V8,
                dev.crossfade.redis.SidekiqVersion.parse(c.string("redis.sidekiq-version")));
        assertEquals("detect", CrossfadeConfig.defaults().string("redis.sidekiq-version"));
    }

    @Test
    void badValuesNameTheKeyAndTheFix() throws IOException {
        assertError("kafka.mode", "'group' or 'share'", "kafka:\n  mode: shard\n");
        assertError("kafka.bootstrp", "did you mean 'kafka.bootstrap'", "kafka:\n  bootstrp: x:1\n");
        assertError("router.kafka-timeout", "500ms, 5s", "router:\n  kafka-timeout: soon\n");
        assertError("workers.concurrency", "whole number", "workers:\n  concurrency: many\n");
        assertError("redis.url", "redis://", "redis:\n  url: http://localhost\n");
        assertError("crossfade.yml", "not valid YAML", "kafka: [unclosed\n");
        ConfigException env = assertThrows(
                ConfigException.class, () -> CrossfadeConfig.load(null, Map.of("CROSSFADE_HTTP_PORT", "99999")));
        assertTrue(env.getMessage().contains("http.port"), env.getMessage());
    }

    private void assertError(String key, String fix, String text) throws IOException {
        ConfigException e = assertThrows(ConfigException.class, () -> CrossfadeConfig.load(yaml(text), Map.of()));
        assertTrue(e.getMessage().contains(key), e.getMessage());
        assertTrue(e.getMessage().contains(fix), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
    }

    @Test
    void readmeDocumentsEveryKey() throws IOException {
        String readme = Files.readString(Path.of("..", "README.md"));
        for (Setting s : Setting.ALL) {
            assertTrue(readme.contains("`" + s.key() + "`"), "README.md lacks config key " + s.key());
            assertTrue(readme.contains("`" + s.env() + "`"), "README.md lacks env var " + s.env());
        }
    }
}
