package dev.crossfade.spring.boot;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.testing.InMemoryBackend;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.KafkaClientSecurity;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.LaunchDarklyEndpoints;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.redis.RedisOutcomeTally;
import dev.crossfade.redis.RedisRampHold;
import dev.crossfade.redis.SidekiqVersion;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.net.URI;
import java.util.Locale;
import java.util.Optional;
import org.springframework.beans.factory.ListableBeanFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.core.env.Environment;

/**
 * Crossfade from {@code crossfade.*} properties (the command's settings, see {@link CrossfadeSettings}): the Redis backend (always: it also holds the migration state), the
 * Kafka backend when the application uses Kafka, the routing flags, the {@link JobQueue} to enqueue with (the router
 * when both backends are there, following a guarded rollout's rollback hold and counting its outcomes for the
 * rollout's guardrails), the registry of {@link CrossfadeWorker} beans, and the workers in the application's
 * lifecycle unless {@code crossfade.workers.enabled=false}. Every bean backs off when the application defines its own.
 *
 * <p>An application (or test) that defines an {@link InMemoryBackend} bean gets none of this: see
 * {@link CrossfadeTest}.
 *
 * <p>Meters go to the application's {@link MeterRegistry} when it has exactly one, else to Micrometer's global one.
 */
@AutoConfiguration(
        afterName = {
            "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
            "org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration"
        })
@ConditionalOnMissingBean(InMemoryBackend.class)
public class CrossfadeAutoConfiguration {

    private static MeterRegistry meters(ObjectProvider<MeterRegistry> meters) {
        return meters.getIfUnique(() -> Metrics.globalRegistry);
    }

    /**
     * The {@code crossfade.*} properties, read and checked like the command's configuration: same keys, defaults and
     * one-line errors.
     */
    @Bean
    @ConditionalOnMissingBean
    CrossfadeConfig crossfadeConfig(Environment environment) {
        return CrossfadeSettings.bind(environment);
    }

    @Bean
    @ConditionalOnMissingBean
    RedisBackend crossfadeRedisBackend(CrossfadeConfig config, ObjectProvider<MeterRegistry> meters) {
        return RedisBackend.create(RedisBackendConfig.custom()
                .url(config.string("redis.url"))
                .namespace(config.string("redis.namespace"))
                .strictEvictionPolicy(config.bool("redis.strict-maxmemory"))
                .waitReplicas(config.integer("redis.wait-replicas"))
                .waitTimeout(config.duration("redis.wait-timeout"))
                .sidekiqVersion(SidekiqVersion.parse(config.string("redis.sidekiq-version")))
                .heartbeatTtl(config.duration("redis.heartbeat-ttl"))
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters(meters))
                .build());
    }

    @Bean
    @ConditionalOnMissingBean
    @Conditional(KafkaConfiguredCondition.class)
    KafkaBackend crossfadeKafkaBackend(CrossfadeConfig config, ObjectProvider<MeterRegistry> meters) {
        KafkaBackendConfig.Builder kafka = KafkaBackendConfig.custom();
        if (config.isSet("kafka.session-timeout")) {
            kafka.groupConfig(
                    "consumer.session.timeout.ms",
                    Long.toString(config.duration("kafka.session-timeout").toMillis()));
        }
        KafkaClientSecurity.properties(config).forEach(kafka::clientProperty);
        return KafkaBackend.create(kafka.bootstrapServers(config.string("kafka.bootstrap"))
                .topicPrefix(config.string("kafka.topic-prefix"))
                .partitions(config.integer("kafka.partitions"))
                .replication(
                        config.isSet("kafka.replication")
                                ? Optional.of((short) config.integer("kafka.replication"))
                                : Optional.empty())
                .mode(
                        config.string("kafka.mode").trim().equals("share")
                                ? KafkaBackendConfig.Mode.SHARE
                                : KafkaBackendConfig.Mode.GROUP)
                .ordering(KafkaBackendConfig.Ordering.valueOf(
                        config.string("kafka.ordering").trim().toUpperCase(Locale.ROOT)))
                .maxRecoveries(config.integer("kafka.max-recoveries"))
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters(meters))
                .build());
    }

    private static URI uriIfSet(CrossfadeConfig config, String key) {
        return config.isSet(key) ? config.uri(key) : null;
    }

    @Bean
    @ConditionalOnMissingBean
    RoutingFlags crossfadeRoutingFlags(CrossfadeConfig config, ObjectProvider<MeterRegistry> meters) {
        FlagSource source;
        if (config.isSet("flags.sdk-key")) {
            source = FlagSource.launchDarkly(
                    config.string("flags.sdk-key"),
                    LaunchDarklyEndpoints.of(
                            uriIfSet(config, "flags.relay-uri"),
                            uriIfSet(config, "flags.stream-uri"),
                            uriIfSet(config, "flags.base-uri"),
                            uriIfSet(config, "flags.events-uri")));
        } else {
            // Like the command: a missing file starts as "everything on Redis", so a new app runs unchanged.
            FlagsFile.at(
                            config.path("flags.file"),
                            config.string("flags.route-flag"),
                            config.string("flags.kill-switch-flag"),
                            config.string("flags.shadow-flag"))
                    .createIfMissing();
            source = FlagSource.file(config.path("flags.file"));
        }
        FlagsConfig.Builder flags = FlagsConfig.custom()
                .source(source)
                .routeFlag(config.string("flags.route-flag"))
                .killSwitchFlag(config.string("flags.kill-switch-flag"))
                .shadowFlag(config.string("flags.shadow-flag"))
                .startWait(config.duration("flags.start-wait"))
                .meterRegistry(meters(meters));
        if (config.isSet("flags.migration-flag")) {
            flags.migrationFlag(config.string("flags.migration-flag"));
        }
        return RoutingFlags.start(flags.build());
    }

    /**
     * Keeps the router on Redis while a guarded rollout's rollback holds it there ({@code crossfade ramp}), whatever
     * the flags say: the command's routers do the same, so a rollback reaches every process within a second.
     */
    @Bean
    @ConditionalOnMissingBean
    @Conditional(KafkaConfiguredCondition.class)
    RedisRampHold crossfadeRampHold(RedisBackend redis, RoutingFlags flags) {
        return redis.followRampHold(new RedisRampHold.Target() {
            @Override
            public void holdOnRedis(String why) {
                flags.holdOnRedis(why);
            }

            @Override
            public void releaseHold() {
                flags.releaseHold();
            }
        });
    }

    /**
     * This application's job outcomes and routing, counted into Redis for a guarded rollout's guardrails: the workers
     * take it as an execution listener, the router as its route listener.
     */
    @Bean
    @ConditionalOnMissingBean
    RedisOutcomeTally crossfadeOutcomeTally(RedisBackend redis) {
        return redis.outcomeTally();
    }

    /**
     * The router when the application has both backends, else the Redis queue. The router marks every job whose
     * Kafka write may have landed before falling back to Redis, for the workers' run-once guard.
     */
    @Bean
    @ConditionalOnMissingBean
    JobQueue crossfadeJobQueue(
            CrossfadeConfig config,
            RedisBackend redis,
            ObjectProvider<KafkaBackend> kafka,
            ObjectProvider<RoutingFlags> flags,
            ObjectProvider<MeterRegistry> meters,
            ObjectProvider<RedisOutcomeTally> tally,
            ObjectProvider<RedisRampHold> hold) {
        KafkaBackend k = kafka.getIfUnique();
        if (k == null) {
            return redis.queue();
        }
        // Started with the router, so a hold set before the application started applies to its first job.
        hold.ifAvailable(h -> {});
        RouterConfig.Builder router = RouterConfig.custom()
                .kafkaTimeout(config.duration("router.kafka-timeout"))
                .meterRegistry(meters(meters))
                .twinMarks(redis.twinMarks(config.duration("workers.run-once-memory")));
        RedisOutcomeTally t = tally.getIfUnique();
        if (t != null) {
            router.routeListener(t::routed);
        }
        return new RoutingJobQueue(redis.queue(), k.queue(), flags.getObject(), router.build());
    }

    @Bean
    @ConditionalOnMissingBean
    WorkerRegistry crossfadeWorkerRegistry(ListableBeanFactory beans) {
        return WorkerBeans.registry(beans);
    }

    @Bean
    @ConditionalOnBooleanProperty(name = "crossfade.workers.enabled", matchIfMissing = true)
    WorkerLifecycle crossfadeWorkers(
            CrossfadeConfig config,
            RedisBackend redis,
            ObjectProvider<KafkaBackend> kafka,
            WorkerRegistry registry,
            ObjectProvider<MeterRegistry> meters,
            ObjectProvider<ExecutionListener> listeners) {
        return new WorkerLifecycle(
                redis,
                kafka.getIfUnique(),
                registry,
                config,
                meters(meters),
                listeners.orderedStream().toList());
    }
}
