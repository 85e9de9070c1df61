package dev.crossfade.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** The Sentinel form of {@code redis.url} and the WAIT settings: accepted, or refused in one line without secrets. */
class RedisSentinelSettingsTest {

    private static CrossfadeConfig of(Map<String, String> set) {
        return CrossfadeConfig.of(set, Map.of(), "", "test");
    }

    @Test
    void aSentinelUrlIsAcceptedAndShownWithoutItsPassword() {
        CrossfadeConfig c = of(Map.of(
                "redis.url",
                "redis+sentinel://app:sentinel-Pw-1@10.0.0.1:26379,10.0.0.2:26380/mymaster/2",
                "redis.wait-replicas",
                "1"));
        assertEquals("redis+sentinel://app:****@10.0.0.1:26379,10.0.0.2:26380/mymaster/2", c.shown("redis.url"));
        assertEquals(1, c.integer("redis.wait-replicas"));
        assertEquals("1s", c.string("redis.wait-timeout"));
        of(Map.of("redis.url", "rediss+sentinel://127.0.0.1:26379/mymaster"));
    }

    @Test
    void aBadSentinelUrlNamesTheKeyAndTheFix() {
        for (String[] bad : new String[][] {
            {"redis+sentinel://app:sentinel-Pw-2@10.0.0.1/mymaster", "host:port"},
            {"redis+sentinel://app:sentinel-Pw-2@10.0.0.1:26379,/mymaster", "host:port"},
            {"redis+sentinel://app:sentinel-Pw-2@10.0.0.1:26379", "master's name"},
            {"redis+sentinel://app:sentinel-Pw-2@10.0.0.1:26379/mymaster/zero", "master's name"}
        }) {
            ConfigException e = assertThrows(ConfigException.class, () -> of(Map.of("redis.url", bad[0])), bad[0]);
            assertTrue(e.getMessage().contains("redis.url") && e.getMessage().contains(bad[1]), e.getMessage());
            assertFalse(e.getMessage().contains("sentinel-Pw-2"), e.getMessage());
        }
    }

    @Test
    void waitSettingsAreChecked() {
        ConfigException e = assertThrows(ConfigException.class, () -> of(Map.of("redis.wait-replicas", "-1")));
        assertTrue(e.getMessage().contains("redis.wait-replicas"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> of(Map.of("redis.wait-timeout", "3s")));
        assertTrue(
                e.getMessage().contains("redis.wait-timeout") && e.getMessage().contains("below 3s"), e.getMessage());
    }
}
