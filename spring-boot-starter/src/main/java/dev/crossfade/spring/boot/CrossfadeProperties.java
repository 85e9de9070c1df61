package dev.crossfade.spring.boot;

import dev.crossfade.kafka.KafkaBackendConfig;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.NotEmpty;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.annotation.Validated;

/**
 * The {@code crossfade.*} settings: the same keys and defaults as the {@code crossfade} command's settings table
 * (README, "Configuration"), so one YAML section serves both. The command's {@code http.*} keys and
 * {@code workers.jars}/{@code workers.providers} have no counterpart here: the application serves HTTP, and workers
 * are beans annotated with {@link CrossfadeWorker}.
 */
@ConfigurationProperties("crossfade")
@Validated
public class CrossfadeProperties {

    @Valid
    private final Redis redis = new Redis();
    @Valid
    private final Kafka kafka = new Kafka();
    @Valid
    private final Flags flags = new Flags();
    @Valid
    private final Router router = new Router();
    @Valid
    private final Workers workers = new Workers();
    @Valid
    private final Health health = new Health();

    public Redis getRedis() {
        return redis;
    }

    public Kafka getKafka() {
        return kafka;
    }

    public Flags getFlags() {
        return flags;
    }

    public Router getRouter() {
        return router;
    }

    public Workers getWorkers() {
        return workers;
    }

    public Health getHealth() {
        return health;
    }

    /** Redis: the Sidekiq-compatible backend, and the migration state every process shares. */
    public static class Redis {
        /**
         * Redis URL, redis://host:port/db; rediss:// for TLS; an ACL user and password go before the host as
         * user:password@.
         */
        @NotBlank
        @Pattern(regexp = "rediss?://.+", message = "must be a redis:// or rediss:// URL")
        private String url = "redis://127.0.0.1:6379/0";

        /** Key prefix for every Redis key (Sidekiq's namespace). */
        @NotNull
        private String namespace = "";

        /** Refuse to start when Redis maxmemory-policy is not noeviction (otherwise: a loud warning). */
        private boolean strictMaxmemory = false;

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }

        public String getNamespace() {
            return namespace;
        }

        public void setNamespace(String namespace) {
            this.namespace = namespace;
        }

        public boolean isStrictMaxmemory() {
            return strictMaxmemory;
        }

        public void setStrictMaxmemory(boolean strictMaxmemory) {
            this.strictMaxmemory = strictMaxmemory;
        }
    }

    /** Kafka: the destination backend. */
    public static class Kafka {
        /** Kafka bootstrap servers, host:port comma-separated. */
        @NotBlank
        private String bootstrap = "127.0.0.1:9092";

        /** Topic per queue: prefix.queue. */
        @NotBlank
        private String topicPrefix = "crossfade";

        /** group (consumer group, ordered per partition) or share (share group, KIP-932 queues). */
        @NotNull
        private KafkaBackendConfig.Mode mode = KafkaBackendConfig.Mode.GROUP;

        /** Partitions of topics created on demand (at least the consumers you expect). */
        @Min(1)
        private int partitions = 6;

        /** Replication factor of topics created on demand. */
        @Min(1)
        private int replication = 1;

        /**
         * Consumer group session timeout (group config consumer.session.timeout.ms); unset: the broker's. Keep it at
         * least 3 times the heartbeat interval.
         */
        private Duration sessionTimeout;

        public String getBootstrap() {
            return bootstrap;
        }

        public void setBootstrap(String bootstrap) {
            this.bootstrap = bootstrap;
        }

        public String getTopicPrefix() {
            return topicPrefix;
        }

        public void setTopicPrefix(String topicPrefix) {
            this.topicPrefix = topicPrefix;
        }

        public KafkaBackendConfig.Mode getMode() {
            return mode;
        }

        public void setMode(KafkaBackendConfig.Mode mode) {
            this.mode = mode;
        }

        public int getPartitions() {
            return partitions;
        }

        public void setPartitions(int partitions) {
            this.partitions = partitions;
        }

        public int getReplication() {
            return replication;
        }

        public void setReplication(int replication) {
            this.replication = replication;
        }

        public Duration getSessionTimeout() {
            return sessionTimeout;
        }

        public void setSessionTimeout(Duration sessionTimeout) {
            this.sessionTimeout = sessionTimeout;
        }
    }

    /** Routing flags, from LaunchDarkly or a local file. */
    public static class Flags {
        /** Local flags file (LaunchDarkly file-data format), used when no SDK key is set. */
        @NotNull
        private Path file = Path.of(".crossfade/flags.json");

        /** LaunchDarkly server SDK key. When set, flags come from LaunchDarkly. */
        private String sdkKey;

        /** LaunchDarkly Relay Proxy URL. */
        private java.net.URI relayUri;

        /** String flag: redis or kafka. */
        @NotBlank
        private String routeFlag = "crossfade-route";

        /** Boolean flag: true sends everything to Redis. */
        @NotBlank
        private String killSwitchFlag = "crossfade-kill-switch";

        /** Boolean flag (percentage rollout): true adds a shadow copy on the other backend. */
        @NotBlank
        private String shadowFlag = "crossfade-shadow";

        /** LaunchDarkly migration flag used instead of route and shadow flags. */
        private String migrationFlag;

        /** How long start-up waits for flags. */
        @NotNull
        private Duration startWait = Duration.ofSeconds(5);

        public Path getFile() {
            return file;
        }

        public void setFile(Path file) {
            this.file = file;
        }

        public String getSdkKey() {
            return sdkKey;
        }

        public void setSdkKey(String sdkKey) {
            this.sdkKey = sdkKey;
        }

        public java.net.URI getRelayUri() {
            return relayUri;
        }

        public void setRelayUri(java.net.URI relayUri) {
            this.relayUri = relayUri;
        }

        public String getRouteFlag() {
            return routeFlag;
        }

        public void setRouteFlag(String routeFlag) {
            this.routeFlag = routeFlag;
        }

        public String getKillSwitchFlag() {
            return killSwitchFlag;
        }

        public void setKillSwitchFlag(String killSwitchFlag) {
            this.killSwitchFlag = killSwitchFlag;
        }

        public String getShadowFlag() {
            return shadowFlag;
        }

        public void setShadowFlag(String shadowFlag) {
            this.shadowFlag = shadowFlag;
        }

        public String getMigrationFlag() {
            return migrationFlag;
        }

        public void setMigrationFlag(String migrationFlag) {
            this.migrationFlag = migrationFlag;
        }

        public Duration getStartWait() {
            return startWait;
        }

        public void setStartWait(Duration startWait) {
            this.startWait = startWait;
        }

        /** Printed by Spring's configuration reports: never the SDK key. */
        @Override
        public String toString() {
            return "Flags[file=" + file + ", sdkKey=" + (sdkKey == null ? "unset" : "(secret)") + "]";
        }
    }

    /** The router in front of both backends. */
    public static class Router {
        /** Longest a Kafka enqueue may take before the job goes to Redis. */
        @NotNull
        private Duration kafkaTimeout = Duration.ofSeconds(2);

        public Duration getKafkaTimeout() {
            return kafkaTimeout;
        }

        public void setKafkaTimeout(Duration kafkaTimeout) {
            this.kafkaTimeout = kafkaTimeout;
        }
    }

    /** The worker runtime run in the application's lifecycle. */
    public static class Workers {
        /** Whether this application runs workers; false makes it enqueue-only. */
        private boolean enabled = true;

        /** Queues to work. */
        @NotEmpty
        private List<@Pattern(regexp = "[A-Za-z0-9._-]+", message = "queue names may use only letters, digits, "
                + "'.', '_' and '-'") String> queues = new ArrayList<>(List.of("default"));

        /** Worker threads per backend. */
        @Min(1)
        private int concurrency = 10;

        /** Backends to consume from: redis, kafka or both. */
        @NotEmpty
        private List<@Pattern(regexp = "redis|kafka", message = "must be 'redis' or 'kafka'") String> backends =
                new ArrayList<>(List.of("redis", "kafka"));

        /**
         * How long a stopping worker waits for running jobs before returning them to their queue. Above 30s, raise
         * spring.lifecycle.timeout-per-shutdown-phase as well.
         */
        @NotNull
        private Duration shutdownTimeout = Duration.ofSeconds(25);

        /**
         * How long a running job holds its run-once claim; longer than the slowest job (a copy of a job whose worker
         * died waits this long before it runs).
         */
        @NotNull
        private Duration runOnceLease = Duration.ofMinutes(2);

        /** How long a finished job is remembered by the run-once guard; longer than the worst queue lag. */
        @NotNull
        private Duration runOnceMemory = Duration.ofHours(1);

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public List<String> getQueues() {
            return queues;
        }

        public void setQueues(List<String> queues) {
            this.queues = queues;
        }

        public int getConcurrency() {
            return concurrency;
        }

        public void setConcurrency(int concurrency) {
            this.concurrency = concurrency;
        }

        public List<String> getBackends() {
            return backends;
        }

        public void setBackends(List<String> backends) {
            this.backends = backends;
        }

        public Duration getShutdownTimeout() {
            return shutdownTimeout;
        }

        public void setShutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = shutdownTimeout;
        }

        public Duration getRunOnceLease() {
            return runOnceLease;
        }

        public void setRunOnceLease(Duration runOnceLease) {
            this.runOnceLease = runOnceLease;
        }

        public Duration getRunOnceMemory() {
            return runOnceMemory;
        }

        public void setRunOnceMemory(Duration runOnceMemory) {
            this.runOnceMemory = runOnceMemory;
        }
    }

    /** The health indicators. */
    public static class Health {
        /** Longest a check of Redis or Kafka may take before that backend counts as down. */
        @NotNull
        private Duration timeout = Duration.ofSeconds(2);

        public Duration getTimeout() {
            return timeout;
        }

        public void setTimeout(Duration timeout) {
            this.timeout = timeout;
        }
    }
}
