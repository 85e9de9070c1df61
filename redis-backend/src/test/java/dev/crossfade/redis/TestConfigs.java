package dev.crossfade.redis;

import java.net.URI;
import java.time.Duration;

/** Backend settings for tests: pollers and heartbeats fast enough that scenarios finish in seconds. */
final class TestConfigs {
    private TestConfigs() {}

    static RedisBackendConfig.Builder fast(URI url, String namespace) {
        return RedisBackendConfig.custom()
                .url(url)
                .namespace(namespace)
                .pollInterval(Duration.ofMillis(100))
                .heartbeatInterval(Duration.ofMillis(500))
                .recoveryTimeout(Duration.ofSeconds(2))
                .fetchBlockTimeout(Duration.ofMillis(200))
                .maxReconnectBackoff(Duration.ofMillis(500))
                .shutdownTimeout(Duration.ofSeconds(5));
    }
}
