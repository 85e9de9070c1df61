package dev.crossfade.spring.boot;

import dev.crossfade.flags.RoutingFlags;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Flags are up when the SDK has its data. Down is not an outage of the jobs: the router then decides from the flags'
 * fallback values (everything on Redis), which is why this is reported rather than acted on.
 */
final class FlagsHealthIndicator implements HealthIndicator {
    private final RoutingFlags flags;

    FlagsHealthIndicator(RoutingFlags flags) {
        this.flags = flags;
    }

    @Override
    public Health health() {
        return (flags.healthy() ? Health.up() : Health.down())
                .withDetail("source", flags.sourceDescription())
                .build();
    }
}
