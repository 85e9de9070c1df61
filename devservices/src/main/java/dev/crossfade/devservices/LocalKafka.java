package dev.crossfade.devservices;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real single-node Kafka (KRaft, combined broker and controller) run from the Kafka jars on the classpath in a child
 * JVM, so tests and the demo use the same broker code as production, share groups included, without Docker. A child
 * JVM rather than an in-process broker, because only a separate process can be SIGKILLed, restarted on the same ports
 * and data directory, and frozen with SIGSTOP, which is what the fault drills need; it also keeps the broker's threads,
 * heap and logging out of the test JVM.
 *
 * <p>Instances are created with {@link #builder()}; the configuration is immutable. The data directory is a fresh
 * temporary directory, deleted by {@link #close()} and, as a safety net, when the JVM exits. The broker's own output
 * goes to {@code broker.log} in that directory, not to the console. Not for production use.
 *
 * <pre>{@code
 * try (LocalKafka kafka = LocalKafka.builder().partitions(3).build().start()) {
 *     props.put("bootstrap.servers", kafka.bootstrapServers());
 *     kafka.kill();     // SIGKILL
 *     kafka.restart();  // same ports, same data
 * }
 * }</pre>
 */
public final class LocalKafka extends LocalServer<LocalKafka> implements KafkaService {
    private static final Logger LOG = LoggerFactory.getLogger(LocalKafka.class);
    private static final String HOST = "127.0.0.1";

    /**
     * JVM options used unless {@link Builder#jvmOptions(String...)} replaces them: a heap big enough for load tests, the
     * serial collector (fastest start and least CPU on a two-core CI box), and death on OOM instead of limping on.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of(
            "-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true");

    /**
     * The JVM options Kafka's own start scripts give a broker ({@code kafka-server-start.sh}'s heap and {@code
     * kafka-run-class.sh}'s collector settings: G1 with a 20 ms pause goal), plus death on OOM: a broker as it is
     * usually run, for measuring latency. Under steady load the serial collector of {@link #DEFAULT_JVM_OPTIONS}
     * stops the broker for tens of milliseconds every second or two, and every produce and fetch in flight waits for
     * it (docs/benchmarks.md, "Kafka latency").
     */
    public static final List<String> KAFKA_SCRIPT_JVM_OPTIONS = List.of(
            "-Xms1G",
            "-Xmx1G",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true");

    private final Config config;
    private int port;
    private int controllerPort;
    /** The SASL_SSL listener's port when {@link Builder#security} is set, else 0. */
    private int securePort;

    private String clusterId;

    private LocalKafka(Config config) {
        super("Kafka broker", Duration.ofSeconds(20));
        this.config = config;
    }

    @Override
    Duration shutdownTimeout() {
        return config.shutdownTimeout;
    }

    @Override
    String address() {
        return HOST + ":" + port;
    }

    /** Starts a configuration; every option has a test-friendly default. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the broker and waits until {@code Admin.describeCluster()} answers. The first call picks the ports, creates
     * and formats the data directory; later calls (after {@link #stop()} or {@link #kill()}) reuse all of it. Does
     * nothing if already running.
     *
     * @return this, for chaining
     * @throws DevServiceException if the broker exits or does not answer within the startup timeout; the message ends
     *     with the tail of {@code broker.log}
     */
    public synchronized LocalKafka start() {
        ensureOpen();
        if (isRunning()) {
            return this;
        }
        boolean fresh = directory == null;
        if (fresh) {
            try {
                directory = Files.createTempDirectory("crossfade-kafka-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a temporary directory for Kafka", e);
            }
            Processes.trackDirectory(directory);
            clusterId = config.node != null
                    ? config.node.clusterId
                    : Uuid.randomUuid().toString();
        }
        long begin = System.nanoTime();
        for (int attempt = 1; ; attempt++) {
            if (fresh) {
                if (config.node != null) {
                    // A cluster's node: its peers already know its ports.
                    port = config.node.port;
                    controllerPort = config.node.controllerPort;
                    securePort = config.node.securePort;
                } else {
                    // A free port can be taken between probing and binding; on a fresh start we can simply pick
                    // again.
                    port = Processes.freePort();
                    controllerPort = Processes.freePort();
                    while (controllerPort == port) {
                        controllerPort = Processes.freePort();
                    }
                    securePort = 0;
                    while (config.security != null
                            && (securePort == 0 || securePort == port || securePort == controllerPort)) {
                        securePort = Processes.freePort();
                    }
                }
                writeConfigFiles();
            }
            launch();
            try {
                awaitReady();
                break;
            } catch (DevServiceException e) {
                boolean portClash = fresh
                        && config.node == null
                        && attempt < 3
                        && Processes.tail(logFile(), 200).contains("Address already in use");
                if (!portClash) {
                    throw e;
                }
                LOG.warn("Kafka ports {}/{} were taken meanwhile; retrying with new ones", port, controllerPort);
                kill();
                Processes.deleteQuietly(directory.resolve("data"));
            }
        }
        LOG.info(
                "Kafka broker pid {} ready at {} in {} ms (dir {})",
                process.pid(),
                bootstrapServers(),
                Duration.ofNanos(System.nanoTime() - begin).toMillis(),
                directory);
        return this;
    }

    private void writeConfigFiles() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("process.roles", "broker,controller");
        if (config.node != null) {
            p.put("node.id", Integer.toString(config.node.nodeId));
            p.put("controller.quorum.voters", config.node.voters);
        } else {
            p.put("node.id", "1");
            p.put("controller.quorum.bootstrap.servers", HOST + ":" + controllerPort);
        }
        String listeners = "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort;
        String advertised = "PLAINTEXT://" + HOST + ":" + port;
        String protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT";
        if (config.security != null) {
            // Clients use SECURE; the brokers and controllers keep talking on loopback PLAINTEXT among themselves.
            listeners += ",SECURE://" + HOST + ":" + securePort;
            advertised += ",SECURE://" + HOST + ":" + securePort;
            protocols += ",SECURE:SASL_SSL";
            p.put("sasl.enabled.mechanisms", KafkaSecurity.MECHANISM);
            p.putAll(config.security.brokerProperties("SECURE"));
        }
        p.put("listeners", listeners);
        p.put("advertised.listeners", advertised);
        p.put("controller.listener.names", "CONTROLLER");
        p.put("inter.broker.listener.name", "PLAINTEXT");
        p.put("listener.security.protocol.map", protocols);
        p.put("log.dirs", directory.resolve("data").toString());
        p.put("num.partitions", Integer.toString(config.partitions));
        String rf = config.node != null ? Integer.toString(config.node.replication) : "1";
        String isr = config.node != null ? Integer.toString(config.node.minInsyncReplicas) : "1";
        p.put("default.replication.factor", rf);
        p.put("min.insync.replicas", isr);
        p.put("auto.create.topics.enable", "true");
        p.put("offsets.topic.replication.factor", rf);
        p.put("transaction.state.log.replication.factor", rf);
        p.put("transaction.state.log.min.isr", isr);
        p.put("share.coordinator.state.topic.replication.factor", rf);
        p.put("share.coordinator.state.topic.min.isr", isr);
        if (config.node != null) {
            // A restarted node must lead its partitions again, or all leadership drifts to the survivors.
            p.put("leader.imbalance.check.interval.seconds", "5");
        }
        // Internal topics default to 50 partitions; creating them on first use would cost seconds on a small machine.
        p.put("offsets.topic.num.partitions", "5");
        p.put("transaction.state.log.num.partitions", "5");
        p.put("share.coordinator.state.topic.num.partitions", "5");
        p.put("group.initial.rebalance.delay.ms", "0");
        // Let tests opt into short lock/session timeouts per group (group configs) without changing the defaults.
        p.put("group.share.min.record.lock.duration.ms", "1000");
        p.put("group.share.min.session.timeout.ms", "3000");
        p.put("group.share.min.heartbeat.interval.ms", "500");
        p.put("group.consumer.min.session.timeout.ms", "3000");
        p.put("group.consumer.min.heartbeat.interval.ms", "500");
        p.put("group.min.session.timeout.ms", "1000");
        // New-protocol and share groups receive assignment changes with heartbeats; at the 5 s default a share consumer
        // waits up to 5 s for its first partitions. 1 s keeps tests quick at negligible cost on one node.
        p.put("group.share.heartbeat.interval.ms", "1000");
        p.put("group.consumer.heartbeat.interval.ms", "1000");
        // After a SIGKILL the restarted controller still honours the dead broker's session, and refuses the new
        // registration until it expires: a short session makes kill() + restart() take seconds, not ten.
        p.put("broker.heartbeat.interval.ms", "500");
        p.put("broker.session.timeout.ms", "3000");
        p.putAll(config.brokerProperties);

        StringBuilder text = new StringBuilder("# written by dev.crossfade.devservices.LocalKafka\n");
        p.forEach((k, v) ->
                text.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
        String log4j = String.join(
                "\n",
                "status = error",
                "appender.console.type = Console",
                "appender.console.name = STDOUT",
                "appender.console.layout.type = PatternLayout",
                "appender.console.layout.pattern = [%d] %p %m (%c)%n",
                "rootLogger.level = " + config.logLevel,
                "rootLogger.appenderRef.stdout.ref = STDOUT",
                "");
        List<String> formatArgs = new ArrayList<>();
        if (config.node == null) {
            formatArgs.add("--standalone");
        }
        if (config.security != null) {
            formatArgs.addAll(config.security.formatArguments());
        }
        try {
            Files.writeString(
                    directory.resolve(KafkaBrokerMain.FORMAT_ARGS),
                    String.join("\n", formatArgs) + "\n",
                    StandardCharsets.UTF_8);
            Files.writeString(serverProperties(), text, StandardCharsets.UTF_8);
            Files.writeString(directory.resolve("log4j2.properties"), log4j, StandardCharsets.UTF_8);
            Files.deleteIfExists(logFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write Kafka configuration to " + directory, e);
        }
    }

    private void launch() {
        List<String> cmd = new ArrayList<>();
        cmd.add(config.javaExecutable != null ? config.javaExecutable.toString() : Processes.currentJava());
        cmd.addAll(config.jvmOptions);
        cmd.add("-Dlog4j2.configurationFile=" + directory.resolve("log4j2.properties"));
        cmd.add("-Dkafka.logs.dir=" + directory.resolve("logs"));
        // If slf4j-simple is the binding on the classpath (it is in tests), keep it as quiet as log4j2.
        cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=" + config.logLevel.toLowerCase(java.util.Locale.ROOT));
        cmd.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
        cmd.add("-Dorg.slf4j.simpleLogger.logFile=System.out");
        cmd.add("-cp");
        cmd.add(config.classpath != null ? config.classpath : System.getProperty("java.class.path"));
        cmd.add(KafkaBrokerMain.class.getName());
        cmd.add(serverProperties().toString());
        cmd.add(clusterId);
        cmd.add(Long.toString(ProcessHandle.current().pid()));
        cmd.add(directory.toString());
        try {
            process = new ProcessBuilder(cmd)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile().toFile()))
                    .start();
        } catch (IOException e) {
            throw new DevServiceException("cannot start a JVM for the Kafka broker: " + cmd.get(0), e);
        }
        Processes.track(process);
        paused = false;
    }

    private void awaitReady() {
        long deadline = System.nanoTime() + config.startupTimeout.toNanos();
        // Cheap TCP probe first, so the Admin client does not fill the log with connection warnings.
        while (!Processes.isListening(HOST, port, Duration.ofMillis(200))
                || (securePort != 0 && !Processes.isListening(HOST, securePort, Duration.ofMillis(200)))) {
            checkAliveAndTime(deadline, "the broker port never opened");
            sleep(Duration.ofMillis(50));
        }
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, internalBootstrap());
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "crossfade-devservices-readiness");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
        props.put(AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "200");
        props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, "1000");
        props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "1000");
        Throwable last = null;
        try (Admin admin = Admin.create(props)) {
            while (true) {
                checkAliveAndTime(deadline, "Admin.describeCluster() did not answer (last error: " + last + ")");
                try {
                    Collection<Node> nodes = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes()
                            .get(3, TimeUnit.SECONDS);
                    if (!nodes.isEmpty()) {
                        return;
                    }
                } catch (ExecutionException e) {
                    last = e.getCause();
                } catch (TimeoutException e) {
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DevServiceException("interrupted while waiting for Kafka", e);
                }
                sleep(Duration.ofMillis(50));
            }
        }
    }

    private void checkAliveAndTime(long deadline, String what) {
        if (!process.isAlive()) {
            throw failure("the Kafka broker JVM exited with code " + process.exitValue() + " during startup");
        }
        if (System.nanoTime() > deadline) {
            process.destroyForcibly();
            Processes.awaitExit(process, Duration.ofSeconds(10));
            throw failure("the Kafka broker was not ready within " + config.startupTimeout + ": " + what);
        }
    }

    private DevServiceException failure(String what) {
        return new DevServiceException(what + " [bootstrap " + HOST + ":" + port + ", controller " + controllerPort
                + ", dir " + directory + "]\n--- tail of " + logFile() + " ---\n" + Processes.tail(logFile(), 40));
    }

    /**
     * Where clients connect: the SASL_SSL listener when {@link Builder#security} is set (clients then need
     * {@link KafkaSecurity#clientProperties()}), else the plaintext one.
     *
     * @throws IllegalStateException before the first {@link #start()}, when no port is chosen yet
     */
    @Override
    public synchronized String bootstrapServers() {
        if (port == 0) {
            throw new IllegalStateException("LocalKafka has no port before start()");
        }
        return HOST + ":" + (securePort != 0 ? securePort : port);
    }

    /** The loopback plaintext listener the brokers use among themselves; for dev services' own admin clients. */
    synchronized String internalBootstrap() {
        if (port == 0) {
            throw new IllegalStateException("LocalKafka has no port before start()");
        }
        return HOST + ":" + port;
    }

    /** This broker's {@code node.id}: 1 alone, its place in a {@link LocalKafkaCluster} (from 1) there. */
    public int nodeId() {
        return config.node != null ? config.node.nodeId : 1;
    }

    /** Always true: this handle owns the broker process. */
    @Override
    public boolean isControllable() {
        return true;
    }

    /** The broker JVM's combined stdout/stderr, useful to attach to a failing test's report; null before start. */
    public synchronized Path logFile() {
        return directory == null ? null : directory.resolve("broker.log");
    }

    private Path serverProperties() {
        return directory.resolve("server.properties");
    }

    @Override
    public synchronized String toString() {
        return "LocalKafka[" + (port == 0 ? "not started" : bootstrapServers()) + state() + "]";
    }

    /** What a node of a {@link LocalKafkaCluster} needs to know about its cluster. */
    record ClusterNode(
            int nodeId,
            int port,
            int controllerPort,
            int securePort,
            String voters,
            String clusterId,
            int replication,
            int minInsyncReplicas) {}

    private static final class Config {
        final int partitions;
        final List<String> jvmOptions;
        final Map<String, String> brokerProperties;
        final Duration startupTimeout;
        final Duration shutdownTimeout;
        final String logLevel;
        final String classpath;
        final Path javaExecutable;
        final KafkaSecurity security;
        final ClusterNode node;

        Config(Builder b) {
            this.security = b.security;
            this.node = b.node;
            this.partitions = b.partitions;
            this.jvmOptions = List.copyOf(b.jvmOptions);
            this.brokerProperties = Map.copyOf(b.brokerProperties);
            this.startupTimeout = b.startupTimeout;
            this.shutdownTimeout = b.shutdownTimeout;
            this.logLevel = b.logLevel;
            this.classpath = b.classpath;
            this.javaExecutable = b.javaExecutable;
        }
    }

    /**
     * Collects options for a {@link LocalKafka}. Defaults favour fast tests: one partition per auto-created topic,
     * {@link #DEFAULT_JVM_OPTIONS}, broker logging at WARN. Each {@link #build()} takes a snapshot, so a builder can be
     * reused.
     */
    public static final class Builder {
        private int partitions = 1;
        private List<String> jvmOptions = DEFAULT_JVM_OPTIONS;
        private final Map<String, String> brokerProperties = new LinkedHashMap<>();
        private Duration startupTimeout = Duration.ofSeconds(60);
        private Duration shutdownTimeout = Duration.ofSeconds(30);
        private String logLevel = "WARN";
        private String classpath;
        private Path javaExecutable;
        private KafkaSecurity security;
        private ClusterNode node;

        private Builder() {}

        /**
         * Adds a SASL_SSL listener with this TLS material and SCRAM user, and makes it the one
         * {@link LocalKafka#bootstrapServers()} names. The brokers keep a loopback plaintext listener among themselves.
         */
        public Builder security(KafkaSecurity security) {
            this.security = Objects.requireNonNull(security, "security");
            return this;
        }

        /** Makes this broker one node of a {@link LocalKafkaCluster}, on ports chosen by the cluster. */
        Builder clusterNode(ClusterNode node) {
            this.node = node;
            return this;
        }

        /** {@code num.partitions}: the partition count of topics created without an explicit count. Default 1. */
        public Builder partitions(int partitions) {
            if (partitions < 1) {
                throw new IllegalArgumentException("partitions must be >= 1: " + partitions);
            }
            this.partitions = partitions;
            return this;
        }

        /**
         * Replaces {@link #DEFAULT_JVM_OPTIONS} for the broker JVM, e.g. {@link #KAFKA_SCRIPT_JVM_OPTIONS} for benchmarks. Do not add
         * options that change JIT behaviour (such as {@code -XX:TieredStopAtLevel=1}) when measuring throughput.
         */
        public Builder jvmOptions(String... options) {
            this.jvmOptions = List.of(options);
            return this;
        }

        /** Sets or overrides one broker property in {@code server.properties}; applied after all built-in settings. */
        public Builder brokerProperty(String key, String value) {
            brokerProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** How long to wait for the broker to answer, including log recovery after a kill. Default 60 s. */
        public Builder startupTimeout(Duration timeout) {
            this.startupTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** How long {@link LocalKafka#stop()} waits after SIGTERM before it sends SIGKILL. Default 30 s. */
        public Builder shutdownTimeout(Duration timeout) {
            this.shutdownTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** Root log level of the broker JVM (its output goes to {@code broker.log}); default WARN, INFO to debug it. */
        public Builder logLevel(String level) {
            String l = Objects.requireNonNull(level, "level").toUpperCase(java.util.Locale.ROOT);
            if (!Arrays.asList("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF").contains(l)) {
                throw new IllegalArgumentException("unknown log level: " + level);
            }
            this.logLevel = l;
            return this;
        }

        /**
         * The classpath of the broker JVM; by default this JVM's {@code java.class.path}, which must contain
         * {@code kafka_2.13} and this module.
         */
        public Builder classpath(String classpath) {
            this.classpath = Objects.requireNonNull(classpath, "classpath");
            return this;
        }

        /** A {@code java} launcher for the broker JVM; by default the one running this JVM. */
        public Builder javaExecutable(Path java) {
            this.javaExecutable = Objects.requireNonNull(java, "java");
            return this;
        }

        boolean secured() {
            return security != null;
        }

        Duration startupLimit() {
            return startupTimeout;
        }

        /** A builder with the same settings, for a {@link LocalKafkaCluster} to keep its nodes' template. */
        Builder copy() {
            Builder b = new Builder();
            b.partitions = partitions;
            b.jvmOptions = jvmOptions;
            b.brokerProperties.putAll(brokerProperties);
            b.startupTimeout = startupTimeout;
            b.shutdownTimeout = shutdownTimeout;
            b.logLevel = logLevel;
            b.classpath = classpath;
            b.javaExecutable = javaExecutable;
            b.security = security;
            b.node = node;
            return b;
        }

        /** An unstarted broker with a snapshot of this configuration; call {@link LocalKafka#start()}. */
        public LocalKafka build() {
            return new LocalKafka(new Config(this));
        }
    }
}
