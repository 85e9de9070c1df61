package dev.crossfade.spring.boot;

import dev.crossfade.redis.RedisBackend;
import java.time.Duration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/** Redis is up when it answers PING within the health timeout. The details carry the URL without its password. */
final class RedisHealthIndicator implements HealthIndicator, AutoCloseable {
    private final RedisBackend redis;
    private final BoundedCheck check;

    RedisHealthIndicator(RedisBackend redis, Duration timeout) {
        this.redis = redis;
        this.check = new BoundedCheck("crossfade-health-redis", timeout);
    }

    @Override
    public Health health() {
        Health.Builder health;
        try {
            String pong = check.run(() -> redis.redis().ping());
            health = "PONG".equalsIgnoreCase(pong) ? Health.up() : Health.down().withDetail("reply", pong);
        } catch (Exception e) {
            health = Health.down().withDetail("error", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        return health.withDetail("url", redis.config().redactedUrl()).build();
    }

    @Override
    public void close() {
        check.close();
    }
}
