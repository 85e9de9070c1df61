package dev.crossfade.spring.boot;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;

/**
 * Crossfade from {@code crossfade.*} properties: the Redis backend (always: it also holds the migration state), the
 * Kafka backend when the application uses Kafka, the routing flags, the {@link JobQueue} to enqueue with (the router
 * when both backends are there), the registry of {@link CrossfadeWorker} beans, and the workers in the application's
 * lifecycle unless {@code crossfade.workers.enabled=false}. Every bean backs off when the application defines its own.
 *
 * <p>An application (or test) that defines an {@link InMemoryBackend} bean gets none of this: see
 * {@link CrossfadeTest}.
 *
 * <p>Meters go to the application's {@link MeterRegistry} when it has exactly one, else to Micrometer's global one.
 */
@AutoConfiguration(afterName = {
        "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
        "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration"})
@ConditionalOnMissingBean(InMemoryBackend.class)
@EnableConfigurationProperties(CrossfadeProperties.class)
public class CrossfadeAutoConfiguration {

    private static MeterRegistry meters(ObjectProvider<MeterRegistry> meters) {
        return meters.getIfUnique(() -> Metrics.globalRegistry);
    }

    @Bean
    @ConditionalOnMissingBean
    RedisBackend crossfadeRedisBackend(CrossfadeProperties properties, ObjectProvider<MeterRegistry> meters) {
        CrossfadeProperties.Redis redis = properties.getRedis();
        return RedisBackend.create(RedisBackendConfig.custom()
                .url(redis.getUrl())
                .namespace(redis.getNamespace())
                .strictEvictionPolicy(redis.isStrictMaxmemory())
                .shutdownTimeout(properties.getWorkers().getShutdownTimeout())
                .meterRegistry(meters(meters))
                .build());
    }

    @Bean
    @ConditionalOnMissingBean
    @Conditional(KafkaConfiguredCondition.class)
    KafkaBackend crossfadeKafkaBackend(CrossfadeProperties properties, ObjectProvider<MeterRegistry> meters) {
        CrossfadeProperties.Kafka kafka = properties.getKafka();
        KafkaBackendConfig.Builder config = KafkaBackendConfig.custom();
        if (kafka.getSessionTimeout() != null) {
            config.groupConfig("consumer.session.timeout.ms", Long.toString(kafka.getSessionTimeout().toMillis()));
        }
        return KafkaBackend.create(config
                .bootstrapServers(kafka.getBootstrap())
                .topicPrefix(kafka.getTopicPrefix())
                .partitions(kafka.getPartitions())
                .replicationFactor(kafka.getReplication())
                .mode(kafka.getMode())
                .shutdownTimeout(properties.getWorkers().getShutdownTimeout())
                .meterRegistry(meters(meters))
                .build());
    }

    @Bean
    @ConditionalOnMissingBean
    RoutingFlags crossfadeRoutingFlags(CrossfadeProperties properties, ObjectProvider<MeterRegistry> meters) {
        CrossfadeProperties.Flags flags = properties.getFlags();
        FlagSource source;
        if (flags.getSdkKey() != null && !flags.getSdkKey().isBlank()) {
            source = flags.getRelayUri() == null ? FlagSource.launchDarkly(flags.getSdkKey())
                    : FlagSource.launchDarkly(flags.getSdkKey(), flags.getRelayUri());
        } else {
            // Like the command: a missing file starts as "everything on Redis", so a new app runs unchanged.
            FlagsFile.at(flags.getFile(), flags.getRouteFlag(), flags.getKillSwitchFlag(), flags.getShadowFlag())
                    .createIfMissing();
            source = FlagSource.file(flags.getFile());
        }
        FlagsConfig.Builder config = FlagsConfig.custom().source(source)
                .routeFlag(flags.getRouteFlag())
                .killSwitchFlag(flags.getKillSwitchFlag())
                .shadowFlag(flags.getShadowFlag())
                .startWait(flags.getStartWait())
                .meterRegistry(meters(meters));
        if (flags.getMigrationFlag() != null) {
            config.migrationFlag(flags.getMigrationFlag());
        }
        return RoutingFlags.start(config.build());
    }

    /**
     * The router when the application has both backends, else the Redis queue. The router marks every job whose
     * Kafka write may have landed before falling back to Redis, for the workers' run-once guard.
     */
    @Bean
    @ConditionalOnMissingBean
    JobQueue crossfadeJobQueue(CrossfadeProperties properties, RedisBackend redis, ObjectProvider<KafkaBackend> kafka,
                               ObjectProvider<RoutingFlags> flags, ObjectProvider<MeterRegistry> meters) {
        KafkaBackend k = kafka.getIfUnique();
        if (k == null) {
            return redis.queue();
        }
        return new RoutingJobQueue(redis.queue(), k.queue(), flags.getObject(), RouterConfig.custom()
                .kafkaTimeout(properties.getRouter().getKafkaTimeout())
                .meterRegistry(meters(meters))
                .twinMarks(redis.twinMarks(properties.getWorkers().getRunOnceMemory()))
                .build());
    }

    @Bean
    @ConditionalOnMissingBean
    WorkerRegistry crossfadeWorkerRegistry(ListableBeanFactory beans) {
        return WorkerBeans.registry(beans);
    }

    @Bean
    @ConditionalOnBooleanProperty(name = "crossfade.workers.enabled", matchIfMissing = true)
    WorkerLifecycle crossfadeWorkers(CrossfadeProperties properties, RedisBackend redis,
                                     ObjectProvider<KafkaBackend> kafka, WorkerRegistry registry,
                                     ObjectProvider<MeterRegistry> meters,
                                     ObjectProvider<ExecutionListener> listeners) {
        return new WorkerLifecycle(redis, kafka.getIfUnique(), registry, properties, meters(meters),
                listeners.orderedStream().toList());
    }
}
