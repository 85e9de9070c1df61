package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.ramp.RampStore;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.KafkaClientSecurity;
import dev.crossfade.config.Redaction;
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
import dev.crossfade.router.MigrationWorkerRuntime;
import dev.crossfade.router.RouterConfig;
import dev.crossfade.router.RoutingJobQueue;
import dev.crossfade.router.shadow.MigrationReads;
import dev.crossfade.router.shadow.ShadowComparator;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Everything one Crossfade process runs, built from configuration: the backends it uses, the flags, the router, and
 * on demand the workers (one execution core over the backends, with the run-once guard, shadow comparison and job
 * meters). The CLI commands and the demo all start from here, so they wire things the same way.
 *
 * <p>A backend the node was not given is never created: a Redis-only process opens no Kafka client at all, so it
 * neither connects to a broker nor logs about one. Kafka clients are created on first use, since even an idle one
 * connects and keeps reconnecting.
 */
public final class Node implements AutoCloseable {
    private final CrossfadeConfig config;
    private final MeterRegistry meters;
    private final Set<Backend> backends;
    private final RedisBackend redis;
    private KafkaBackend kafka;
    private final RoutingFlags flags;
    private final FlagsFile flagsFile;
    private RoutingJobQueue router;
    private BackendMonitor monitor;
    private volatile PatientStart kafkaWorkers;
    private final ShadowComparator comparator;
    private final JobMetrics jobMetrics;
    private final UnknownClasses unknownClasses;
    private final RampStore rampStore;
    private RedisOutcomeTally outcomeTally;
    private RedisRampHold rampHold;

    /** How long starting the workers waits for Kafka's before leaving it to the background. */
    private static final Duration KAFKA_FIRST_START = Duration.ofSeconds(10);

    private Node(CrossfadeConfig config, MeterRegistry meters, Set<Backend> backends) {
        this.config = config;
        this.meters = meters;
        this.backends = Set.copyOf(backends);
        // Redis also holds the run-once guard and the ledger, so every node has it (it connects lazily).
        this.redis = RedisBackend.create(RedisBackendConfig.custom()
                .url(config.string("redis.url"))
                .namespace(config.string("redis.namespace"))
                .strictEvictionPolicy(config.bool("redis.strict-maxmemory"))
                .waitReplicas(config.integer("redis.wait-replicas"))
                .waitTimeout(config.duration("redis.wait-timeout"))
                .sidekiqVersion(SidekiqVersion.parse(config.string("redis.sidekiq-version")))
                .heartbeatTtl(config.duration("redis.heartbeat-ttl"))
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters)
                .build());
        FlagSource source;
        if (config.isSet("flags.sdk-key")) {
            source = FlagSource.launchDarkly(config.string("flags.sdk-key"), launchDarklyEndpoints(config));
            this.flagsFile = null;
        } else {
            this.flagsFile = FlagsFile.at(
                    config.path("flags.file"),
                    config.string("flags.route-flag"),
                    config.string("flags.kill-switch-flag"),
                    config.string("flags.shadow-flag"));
            try {
                flagsFile.createIfMissing();
            } catch (RuntimeException e) {
                throw new ConfigException(
                        "flags.file",
                        "cannot create " + config.path("flags.file") + " ("
                                + (e.getCause() == null ? e.getMessage() : e.getCause())
                                + "); fix the path or its directory");
            }
            source = FlagSource.file(config.path("flags.file"));
        }
        FlagsConfig.Builder fc = FlagsConfig.custom()
                .source(source)
                .routeFlag(config.string("flags.route-flag"))
                .killSwitchFlag(config.string("flags.kill-switch-flag"))
                .shadowFlag(config.string("flags.shadow-flag"))
                .startWait(config.duration("flags.start-wait"))
                .meterRegistry(meters);
        if (config.isSet("flags.migration-flag")) {
            fc.migrationFlag(config.string("flags.migration-flag"));
        }
        this.flags = RoutingFlags.start(fc.build());
        // Shared through Redis, so copies run by different worker processes are still paired.
        this.comparator = new ShadowComparator(
                Duration.ofSeconds(30),
                meters,
                redis.shadowStore(config.duration("workers.run-once-memory")),
                new MigrationReads(flags));
        this.jobMetrics = new JobMetrics(meters);
        // The backend's key names, so these share its namespace with Sidekiq's separator (myapp -> myapp:...).
        this.unknownClasses = new UnknownClasses(redis);
        this.rampStore = new RampStore(redis);
    }

    /** Where the SDK reaches LaunchDarkly: a Relay Proxy for all three services, each overridden by its own key. */
    static LaunchDarklyEndpoints launchDarklyEndpoints(CrossfadeConfig config) {
        return LaunchDarklyEndpoints.of(
                uriIfSet(config, "flags.relay-uri"),
                uriIfSet(config, "flags.stream-uri"),
                uriIfSet(config, "flags.base-uri"),
                uriIfSet(config, "flags.events-uri"));
    }

    private static java.net.URI uriIfSet(CrossfadeConfig config, String key) {
        return config.isSet(key) ? config.uri(key) : null;
    }

    /** A node on the backends the configuration's {@code workers.backends} names. */
    public static Node start(CrossfadeConfig config, MeterRegistry meters) {
        return start(config, meters, configuredBackends(config));
    }

    /** A node on {@code backends} (lazily: nothing is contacted before first use). */
    public static Node start(CrossfadeConfig config, MeterRegistry meters, Set<Backend> backends) {
        if (backends.isEmpty() || backends.contains(Backend.MEMORY)) {
            throw new IllegalArgumentException("a node runs on redis and/or kafka, got " + backends);
        }
        return new Node(config, meters, backends);
    }

    private KafkaBackend createKafka() {
        KafkaBackendConfig.Builder kafkaConfig = KafkaBackendConfig.custom();
        if (config.isSet("kafka.session-timeout")) {
            kafkaConfig.groupConfig(
                    "consumer.session.timeout.ms",
                    Long.toString(config.duration("kafka.session-timeout").toMillis()));
        }
        KafkaClientSecurity.properties(config).forEach(kafkaConfig::clientProperty);
        return KafkaBackend.create(kafkaConfig
                .bootstrapServers(config.string("kafka.bootstrap"))
                .topicPrefix(config.string("kafka.topic-prefix"))
                .partitions(config.integer("kafka.partitions"))
                .replication(
                        config.isSet("kafka.replication")
                                ? Optional.of((short) config.integer("kafka.replication"))
                                : Optional.empty())
                .mode(
                        config.string("kafka.mode").equals("share")
                                ? KafkaBackendConfig.Mode.SHARE
                                : KafkaBackendConfig.Mode.GROUP)
                .ordering(KafkaBackendConfig.Ordering.valueOf(
                        config.string("kafka.ordering").trim().toUpperCase(java.util.Locale.ROOT)))
                .maxRecoveries(config.integer("kafka.max-recoveries"))
                .shutdownTimeout(config.duration("workers.shutdown-timeout"))
                .meterRegistry(meters)
                .build());
    }

    /**
     * Workers over the configured queues and backends, with one registry: the built-in workers, those found by
     * ServiceLoader on {@code loader}, and {@code extra}. Not started.
     */
    public WorkerRuntime workers(
            ClassLoader loader,
            WorkerRegistry.Builder extra,
            ExecutionListener listener,
            Set<String> queues,
            Set<Backend> backends,
            int concurrency) {
        WorkerRegistry.Builder registry = extra == null ? WorkerRegistry.builder() : extra;
        BuiltInWorkers.register(registry, redis.redis(), redis.key(""));
        registry.discover(loader);
        for (String provider : config.list("workers.providers")) {
            namedProvider(loader, provider).register(registry);
        }
        ExecutionCore core = ExecutionCore.builder(registry.build())
                .guard(redis.runGuard(
                        config.duration("workers.run-once-lease"), config.duration("workers.run-once-memory")))
                .listener(ExecutionListener.all(
                        jobMetrics,
                        comparator,
                        unknownClasses,
                        outcomeTally(),
                        listener == null ? ExecutionListener.NONE : listener))
                .build();
        List<WorkerRuntime> runtimes = new ArrayList<>();
        if (!this.backends.containsAll(backends)) {
            throw new IllegalArgumentException("this node runs on " + this.backends + ", not " + backends);
        }
        if (backends.contains(Backend.REDIS)) {
            runtimes.add(redis.workers(core, queues, concurrency));
        }
        if (backends.contains(Backend.KAFKA)) {
            // Kafka's start needs the broker; a broker that is down must not keep the Redis workers from running.
            kafkaWorkers = new PatientStart(
                    "kafka",
                    kafka().workers(core, queues, concurrency),
                    KAFKA_FIRST_START,
                    config.duration("workers.shutdown-timeout"));
            runtimes.add(kafkaWorkers);
        }
        return MigrationWorkerRuntime.of(runtimes.toArray(WorkerRuntime[]::new));
    }

    /** A provider the operator named in configuration (never a name from a job payload). */
    private static WorkerProvider namedProvider(ClassLoader loader, String className) {
        try {
            Class<?> c = Class.forName(className, true, loader);
            if (!WorkerProvider.class.isAssignableFrom(c)) {
                throw new ConfigException(
                        "workers.providers", className + " does not implement " + WorkerProvider.class.getName());
            }
            return (WorkerProvider) c.getDeclaredConstructor().newInstance();
        } catch (ClassNotFoundException e) {
            throw new ConfigException(
                    "workers.providers",
                    "class " + className + " not found; add its jar to " + "workers.jars or --jar");
        } catch (ReflectiveOperationException e) {
            throw new ConfigException(
                    "workers.providers", className + " needs a public no-argument constructor (" + e + ")");
        }
    }

    /** Queues from configuration. */
    public Set<String> configuredQueues() {
        return new LinkedHashSet<>(config.list("workers.queues"));
    }

    /** Backends from configuration. */
    public Set<Backend> configuredBackends() {
        return configuredBackends(config);
    }

    private static Set<Backend> configuredBackends(CrossfadeConfig config) {
        Set<Backend> out = new LinkedHashSet<>();
        config.list("workers.backends").forEach(b -> out.add(Backend.parse(b)));
        return out;
    }

    /** The backends this node runs on. */
    public Set<Backend> backends() {
        return backends;
    }

    /** Whether this node runs on {@code backend}. */
    public boolean uses(Backend backend) {
        return backends.contains(backend);
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

    /**
     * The Kafka backend, created on first use.
     *
     * @throws IllegalStateException when this node does not run on Kafka
     */
    public synchronized KafkaBackend kafka() {
        if (!uses(Backend.KAFKA)) {
            throw new IllegalStateException("this process does not use Kafka (backends: " + backends + ")");
        }
        if (kafka == null) {
            kafka = createKafka();
        }
        return kafka;
    }

    public RoutingFlags flags() {
        return flags;
    }

    /** The local flags file, or null when flags come from LaunchDarkly. */
    public FlagsFile flagsFile() {
        return flagsFile;
    }

    /**
     * Where applications enqueue: the router, created on first use.
     *
     * @throws IllegalStateException when this node does not run on both backends
     */
    public synchronized RoutingJobQueue router() {
        if (router == null) {
            router = new RoutingJobQueue(
                    redis.queue(),
                    kafka().queue(),
                    flags,
                    RouterConfig.custom()
                            .kafkaTimeout(config.duration("router.kafka-timeout"))
                            .meterRegistry(meters)
                            .twinMarks(redis.twinMarks(config.duration("workers.run-once-memory")))
                            .routeListener(outcomeTally()::routed)
                            .build());
            // A rollback of a guarded rollout reaches this router through Redis, whatever the flags say.
            rampHold = redis.followRampHold(new RedisRampHold.Target() {
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
        return router;
    }

    /**
     * The background checks of this node's backends, started on first use and stopped by {@link #close()}: what
     * {@code /health}, the dashboard and the unreachable/reachable log lines come from.
     */
    public synchronized BackendMonitor monitor() {
        if (monitor == null) {
            monitor = new BackendMonitor(checks(), config.duration("health.timeout"), meters);
            monitor.start();
        }
        return monitor;
    }

    /**
     * Checks every backend of this node once, each on its own thread, waiting up to {@code wait} in all: for a
     * command that prints what it can reach and exits.
     */
    public List<BackendMonitor.State> checkOnce(Duration wait) {
        List<BackendCheck> checks = checks();
        try {
            return BackendMonitor.checkOnce(checks, wait);
        } finally {
            checks.forEach(BackendCheck::close);
        }
    }

    private List<BackendCheck> checks() {
        List<BackendCheck> checks = new ArrayList<>();
        Set<String> queues = configuredQueues();
        if (uses(Backend.REDIS)) {
            checks.add(new RedisCheck(redis.admin(), Redaction.redact(config.string("redis.url")), queues));
        }
        if (uses(Backend.KAFKA)) {
            checks.add(new KafkaCheck(
                    this::kafka,
                    config.string("kafka.bootstrap"),
                    config.string("kafka.topic-prefix"),
                    Map.copyOf(KafkaClientSecurity.properties(config)),
                    queues,
                    config.duration("health.timeout")));
        }
        return checks;
    }

    /** The guarded rollout's state, decision log, lease and hold, in Redis. */
    public RampStore rampStore() {
        return rampStore;
    }

    /**
     * The per-second outcome counts a guarded rollout judges by ({@code OutcomeWindows}), written by this node's
     * workers and router; created on first use.
     */
    public synchronized RedisOutcomeTally outcomeTally() {
        if (outcomeTally == null) {
            outcomeTally = redis.outcomeTally();
        }
        return outcomeTally;
    }

    /** The Kafka workers' start, or null when this node has none. */
    PatientStart kafkaWorkers() {
        return kafkaWorkers;
    }

    /** The router if something has used it, else null: status reports it without creating one. */
    public synchronized RoutingJobQueue routerIfStarted() {
        return router;
    }

    public ShadowComparator comparator() {
        return comparator;
    }

    public JobMetrics jobMetrics() {
        return jobMetrics;
    }

    /** Jobs of classes no Java worker knows, as every worker process counted them. */
    public UnknownClasses unknownClasses() {
        return unknownClasses;
    }

    @Override
    public void close() {
        RoutingJobQueue r;
        KafkaBackend k;
        BackendMonitor m;
        RedisOutcomeTally t;
        RedisRampHold h;
        synchronized (this) {
            r = router;
            k = kafka;
            m = monitor;
            t = outcomeTally;
            h = rampHold;
        }
        if (h != null) {
            h.close();
        }
        if (t != null) {
            t.close();
        }
        if (m != null) {
            m.close();
        }
        if (r != null) {
            r.close();
        }
        flags.close();
        if (k != null) {
            k.close();
        }
        redis.close();
    }
}
