package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.config.ConfigException;
import dev.crossfade.cli.config.CrossfadeConfig;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import dev.crossfade.router.MigrationWorkerRuntime;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import dev.crossfade.router.shadow.ShadowComparator;
import io.micrometer.core.instrument.MeterRegistry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Everything one Crossfade process runs, built from configuration: both backends, the flags, the router, and on
 * demand the workers (one execution core over both backends, with the run-once guard, shadow comparison and job
 * meters). The CLI commands and the demo all start from here, so they wire things the same way.
 */
public final class Node implements AutoCloseable {
    private final CrossfadeConfig config;
    private final MeterRegistry meters;
    private final RedisBackend redis;
    private final KafkaBackend kafka;
    private final RoutingFlags flags;
    private final FlagsFile flagsFile;
    private final RoutingJobQueue router;
    private final ShadowComparator comparator;
    private final JobMetrics jobMetrics;

    private Node(CrossfadeConfig config, MeterRegistry meters) {
        this.config = config;
        this.meters = meters;
        this.redis = RedisBackend.create(RedisBackendConfig.custom()
                .url(config.string("redis.url"))
                .namespace(config.string("redis.namespace"))
                .strictEvictionPolicy(config.bool("redis.strict-maxmemory"))
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters)
                .build());
        KafkaBackendConfig.Builder kafkaConfig = KafkaBackendConfig.custom();
        if (config.isSet("kafka.session-timeout")) {
            kafkaConfig.groupConfig("consumer.session.timeout.ms",
                    Long.toString(config.duration("kafka.session-timeout").toMillis()));
        }
        this.kafka = KafkaBackend.create(kafkaConfig
                .bootstrapServers(config.string("kafka.bootstrap"))
                .topicPrefix(config.string("kafka.topic-prefix"))
                .partitions(config.integer("kafka.partitions"))
                .replicationFactor(config.integer("kafka.replication"))
                .mode(config.string("kafka.mode").equals("share") ? KafkaBackendConfig.Mode.SHARE
                        : KafkaBackendConfig.Mode.GROUP)
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters)
                .build());
        FlagSource source;
        if (config.isSet("flags.sdk-key")) {
            source = config.isSet("flags.relay-uri")
                    ? FlagSource.launchDarkly(config.string("flags.sdk-key"), config.uri("flags.relay-uri"))
                    : FlagSource.launchDarkly(config.string("flags.sdk-key"));
            this.flagsFile = null;
        } else {
            this.flagsFile = FlagsFile.at(config.path("flags.file"), config.string("flags.route-flag"),
                    config.string("flags.kill-switch-flag"), config.string("flags.shadow-flag"));
            flagsFile.createIfMissing();
            source = FlagSource.file(config.path("flags.file"));
        }
        FlagsConfig.Builder fc = FlagsConfig.custom().source(source)
                .routeFlag(config.string("flags.route-flag"))
                .killSwitchFlag(config.string("flags.kill-switch-flag"))
                .shadowFlag(config.string("flags.shadow-flag"))
                .startWait(config.duration("flags.start-wait"))
                .meterRegistry(meters);
        if (config.isSet("flags.migration-flag")) {
            fc.migrationFlag(config.string("flags.migration-flag"));
        }
        this.flags = RoutingFlags.start(fc.build());
        this.router = new RoutingJobQueue(redis.queue(), kafka.queue(), flags, RouterConfig.custom()
                .kafkaTimeout(config.duration("router.kafka-timeout")).meterRegistry(meters)
                .twinMarks(redis.twinMarks(config.duration("workers.run-once-memory"))).build());
        // Shared through Redis, so copies run by different worker processes are still paired.
        this.comparator = new ShadowComparator(Duration.ofSeconds(30), meters,
                redis.shadowStore(config.duration("workers.run-once-memory")));
        this.jobMetrics = new JobMetrics(meters);
    }

    /** Connects to what the configuration names (lazily: nothing is contacted before first use). */
    public static Node start(CrossfadeConfig config, MeterRegistry meters) {
        return new Node(config, meters);
    }

    /**
     * Workers over the configured queues and backends, with one registry: the built-in workers, those found by
     * ServiceLoader on {@code loader}, and {@code extra}. Not started.
     */
    public WorkerRuntime workers(ClassLoader loader, WorkerRegistry.Builder extra, ExecutionListener listener,
                                 Set<String> queues, Set<Backend> backends, int concurrency) {
        WorkerRegistry.Builder registry = extra == null ? WorkerRegistry.builder() : extra;
        BuiltInWorkers.register(registry, redis.redis(), config.string("redis.namespace"));
        registry.discover(loader);
        for (String provider : config.list("workers.providers")) {
            namedProvider(loader, provider).register(registry);
        }
        ExecutionCore core = ExecutionCore.builder(registry.build())
                .guard(redis.runGuard(config.duration("workers.run-once-lease"),
                        config.duration("workers.run-once-memory")))
                .listener(ExecutionListener.all(jobMetrics, comparator,
                        listener == null ? ExecutionListener.NONE : listener))
                .build();
        List<WorkerRuntime> runtimes = new ArrayList<>();
        if (backends.contains(Backend.REDIS)) {
            runtimes.add(redis.workers(core, queues, concurrency));
        }
        if (backends.contains(Backend.KAFKA)) {
            runtimes.add(kafka.workers(core, queues, concurrency));
        }
        return MigrationWorkerRuntime.of(runtimes.toArray(WorkerRuntime[]::new));
    }

    /** A provider the operator named in configuration (never a name from a job payload). */
    private static WorkerProvider namedProvider(ClassLoader loader, String className) {
        try {
            Class<?> c = Class.forName(className, true, loader);
            if (!WorkerProvider.class.isAssignableFrom(c)) {
                throw new ConfigException("workers.providers", className + " does not implement "
                        + WorkerProvider.class.getName());
            }
            return (WorkerProvider) c.getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            throw new ConfigException("workers.providers", "class " + className + " not found; add its jar to "
                    + "workers.jars or --jar");
        } catch (ReflectiveOperationException e) {
            throw new ConfigException("workers.providers", className + " needs a public no-argument constructor ("
                    + e + ")");
        }
    }

    /** Queues from configuration. */
    public Set<String> configuredQueues() {
        return new LinkedHashSet<>(config.list("workers.queues"));
    }

    /** Backends from configuration. */
    public Set<Backend> configuredBackends() {
        Set<Backend> out = new LinkedHashSet<>();
        config.list("workers.backends").forEach(b -> out.add(Backend.parse(b)));
        return out;
    }

    public CrossfadeConfig config() {
        return config;
    }

    public MeterRegistry meters() {
        return meters;
    }

    public RedisBackend redis() {
        return redis;
    }

    public KafkaBackend kafka() {
        return kafka;
    }

    public RoutingFlags flags() {
        return flags;
    }

    /** The local flags file, or null when flags come from LaunchDarkly. */
    public FlagsFile flagsFile() {
        return flagsFile;
    }

    /** Where applications enqueue: the router. */
    public RoutingJobQueue router() {
        return router;
    }

    public ShadowComparator comparator() {
        return comparator;
    }

    public JobMetrics jobMetrics() {
        return jobMetrics;
    }

    @Override
    public void close() {
        router.close();
        flags.close();
        kafka.close();
        redis.close();
    }
}
