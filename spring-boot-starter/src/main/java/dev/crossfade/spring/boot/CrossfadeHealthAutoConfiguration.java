package dev.crossfade.spring.boot;

import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.RedisBackend;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * A health indicator per Crossfade backend and one for the flags, when the application has Boot's health support
 * (the actuator). Named {@code crossfadeRedis}, {@code crossfadeKafka} and {@code crossfadeFlags} in the health
 * endpoint; {@code management.health.crossfade.enabled=false} turns them off.
 */
@AutoConfiguration(after = CrossfadeAutoConfiguration.class)
@ConditionalOnClass(HealthIndicator.class)
@ConditionalOnEnabledHealthIndicator("crossfade")
public class CrossfadeHealthAutoConfiguration {

    @Bean
    @ConditionalOnBean(RedisBackend.class)
    @ConditionalOnMissingBean(name = "crossfadeRedisHealthIndicator")
    HealthIndicator crossfadeRedisHealthIndicator(RedisBackend redis, CrossfadeConfig config) {
        return new RedisHealthIndicator(redis, config.duration("health.timeout"));
    }

    @Bean
    @ConditionalOnBean(KafkaBackend.class)
    @ConditionalOnMissingBean(name = "crossfadeKafkaHealthIndicator")
    HealthIndicator crossfadeKafkaHealthIndicator(KafkaBackend kafka, CrossfadeConfig config) {
        return new KafkaHealthIndicator(
                kafka.config().bootstrapServers(),
                kafka.config().clientProperties(),
                config.duration("health.timeout"));
    }

    @Bean
    @ConditionalOnBean(RoutingFlags.class)
    @ConditionalOnMissingBean(name = "crossfadeFlagsHealthIndicator")
    HealthIndicator crossfadeFlagsHealthIndicator(RoutingFlags flags) {
        return new FlagsHealthIndicator(flags);
    }
}
