package dev.crossfade.spring.boot;

import dev.crossfade.kafka.KafkaAdmin;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * Kafka is up when the cluster can be described within the health timeout. The admin client is this indicator's
 * own, with timeouts as short as the check's, so a check fails quickly instead of waiting out the backend's longer
 * ones; it connects on the first check, not before.
 */
final class KafkaHealthIndicator implements HealthIndicator, AutoCloseable {
    private final String bootstrap;
    private final BoundedCheck check;
    private final Admin admin;

    /** @param clientProperties the backend's ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}) */
    KafkaHealthIndicator(String bootstrap, Map<String, ?> clientProperties, Duration timeout) {
        this.bootstrap = bootstrap;
        this.check = new BoundedCheck("crossfade-health-kafka", timeout);
        this.admin = Admin.create(KafkaAdmin.healthCheckProperties(bootstrap, clientProperties, timeout));
    }

    @Override
    public Health health() {
        Health.Builder health;
        try {
            int ms = (int) check.timeout().toMillis();
            String clusterId = check.run(() -> admin.describeCluster(new DescribeClusterOptions().timeoutMs(ms))
                    .clusterId()
                    .get(ms, TimeUnit.MILLISECONDS));
            health = Health.up().withDetail("clusterId", clusterId);
        } catch (Exception e) {
            health = Health.down().withDetail("error", e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        return health.withDetail("bootstrap", bootstrap).build();
    }

    @Override
    public void close() {
        check.close();
        admin.close(Duration.ofSeconds(1));
    }
}
