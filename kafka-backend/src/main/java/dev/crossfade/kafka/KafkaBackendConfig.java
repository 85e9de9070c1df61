package dev.crossfade.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Every setting of the Kafka backend, in one immutable object built with {@link #custom()}. This table is the one
 * place the settings are documented.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><th>setting</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>bootstrapServers</td><td>(required)</td><td>{@code bootstrap.servers} for every client</td></tr>
 *   <tr><td>topicPrefix</td><td>{@code crossfade}</td><td>queue {@code q} lives in topic {@code <prefix>.q}; its
 *   dead letters in {@code <prefix>.q.dlq}; its scheduled jobs and retries in the delay tiers
 *   {@code <prefix>.q.delay.<tier>}</td></tr>
 *   <tr><td>createTopics</td><td>true</td><td>create missing topics on first use (Admin); false = strict mode: a
 *   missing topic is an error naming it</td></tr>
 *   <tr><td>partitions</td><td>6</td><td>partitions of topics this backend creates</td></tr>
 *   <tr><td>replication</td><td>empty (the broker's {@code default.replication.factor})</td><td>replication of
 *   topics this backend creates. When set to 2 or more, the topics also get {@code min.insync.replicas} =
 *   min(2, replication − 1): with the producers' {@code acks=all}, an acknowledged job is then on at least two brokers
 *   (one at replication 2), and one broker may be down without stopping writes. With the broker default, the
 *   broker's {@code min.insync.replicas} applies (whoever chose the cluster's replication chose that too). Existing
 *   topics are never altered</td></tr>
 *   <tr><td>dlqRetention</td><td>180 days</td><td>{@code retention.ms} of dead-letter topics this backend creates, as
 *   long as Sidekiq keeps its dead set, so a dead job can still be replayed after months</td></tr>
 *   <tr><td>delayRetention</td><td>longest delay tier + 7 days</td><td>{@code retention.ms} of delay topics this
 *   backend creates; must be longer than the longest tier. A record waits in a tier at most that tier's delay while
 *   a scheduler runs; the rest is how long the workers may be down before scheduled jobs and retries expire</td></tr>
 *   <tr><td>delayTiers</td><td>1s, 5s, 30s, 2m, 10m, 1h, 6h</td><td>delay topics for scheduled jobs and retries; a
 *   job waits in the largest tier not longer than its remaining delay and hops until due. A job never starts before
 *   its time; it may start late by up to the smallest tier (1 s) plus polling latency</td></tr>
 *   <tr><td>mode</td><td>{@link Mode#GROUP}</td><td>consumer group (ordered, offset commits) or share group
 *   (KIP-932, per-record acknowledgement, any number of consumers per partition)</td></tr>
 *   <tr><td>groupId</td><td>{@code <topicPrefix>.workers}</td><td>the base of the workers' group names, one set per
 *   queue so that one queue's workers can be stopped, moved or transferred while other queues' keep running. Group
 *   mode: queue {@code q}'s workers form consumer group {@code <groupId>:q} ({@link #workerGroup}), its shadow copies
 *   {@code <groupId>:q:shadow}. Share mode: the share group {@code <groupId>} (shadow copies {@code <groupId>.shadow}).
 *   Either mode: {@code q}'s delay scheduler {@code <groupId>:q:scheduler} ({@link #schedulerGroup}). Workers of an
 *   earlier version used {@code <groupId>} and {@code <groupId>.scheduler} for every queue; a queue's workers take
 *   over its committed offsets from those groups at their first start (see migration-guide.md)</td></tr>
 *   <tr><td>groupProtocol</td><td>{@code consumer}</td><td>group mode rebalance protocol: {@code consumer}
 *   (KIP-848, incremental) or {@code classic} (then with the cooperative-sticky assignor)</td></tr>
 *   <tr><td>ordering</td><td>{@link Ordering#KEY}</td><td>group mode: which jobs of a partition must not run at
 *   the same time. {@code KEY}: jobs with the same record key (the routing key, else the jid) run one after another in
 *   enqueue order, any others at once, so {@code concurrency} threads run that many jobs at once however few the
 *   partitions (what a Sidekiq user expects of {@code concurrency}). {@code PARTITION}: jobs of a partition run one
 *   after another, so a process runs at most as many jobs at once as it owns partitions. {@code NONE}: no order.
 *   Commits stay exact in every mode. Under {@code KEY} and {@code NONE}, a graceful rebalance or stop first runs
 *   the queued jobs below ones that finished (within {@code revokeTimeout} or {@code shutdownTimeout}), since the
 *   commit can cover only an unbroken run of finished jobs; should that time run out, the next owner runs the jobs
 *   finished past an unstarted one again (at-least-once, as after a crash)</td></tr>
 *   <tr><td>maxPollRecords</td><td>2000 (group); share: 100 per worker thread, 100 to 1000 per share consumer</td><td>{@code
 *   max.poll.records}: the batch size. Group mode polls in large batches because the KIP-848 consumer's cost per poll
 *   dominated no-op processing at 500 (see docs/benchmarks.md). A share consumer holds a lock on every record it
 *   fetched, which no other consumer can take meanwhile, so share mode sizes its batch by its threads (and acquires
 *   no more than it, {@code share.acquire.mode=record_limit}; the broker's default, {@code batch_optimized}, is
 *   faster and may acquire more than a poll returns: docs/benchmarks.md says when a consumer property may set it).
 *   A stopping share runtime finishes the batch it
 *   acquired, so keep a batch's run time (records × job time ÷ threads) within {@code shutdownTimeout}: lower it when
 *   jobs are slow</td></tr>
 *   <tr><td>fetchMaxWait</td><td>100 ms</td><td>{@code fetch.max.wait.ms}: how long the broker may hold an empty
 *   fetch; bounds idle pick-up latency</td></tr>
 *   <tr><td>maxBufferedPerPartition</td><td>2 × maxPollRecords</td><td>group mode: fetched but unfinished jobs of a
 *   partition beyond which the partition is paused (backpressure; the poll loop keeps the member alive)</td></tr>
 *   <tr><td>maxBufferedBytesPerPartition</td><td>16 MiB</td><td>group mode: the same bound in payload bytes, so
 *   large jobs cannot fill the heap; whichever is reached first pauses the partition</td></tr>
 *   <tr><td>commitInterval</td><td>500 ms</td><td>group mode: how often finished offsets are committed (also on
 *   revoke and stop). Bounds re-runs after a crash</td></tr>
 *   <tr><td>revokeTimeout</td><td>10 s</td><td>group mode: how long a revoked partition's running jobs may finish
 *   before they are abandoned (left uncommitted: the new owner runs them again). Within it, the unstarted jobs below
 *   the partition's highest finished one then run (starting until half the time left), so that the commit covers
 *   every finished job; a stop does the same within {@code shutdownTimeout}</td></tr>
 *   <tr><td>shutdownTimeout</td><td>25 s</td><td>{@code WorkerRuntime.close()}'s wait for running jobs. Group mode's
 *   final commits and leaving the group keep to it too (at least a second each past it), even with the broker
 *   gone</td></tr>
 *   <tr><td>shareConsumers</td><td>1 per 10 worker threads</td><td>share mode: share consumers (poll loops) per worker
 *   runtime; they share the worker pool. A share consumer in explicit acknowledgement mode fetches its next batch only
 *   once its last one is acknowledged, so with one consumer the threads wait out every fetch; several overlap their
 *   fetches with each other's batches. The runtime's threads are divided among them for their batch size
 *   ({@code maxPollRecords}), so more consumers do not acquire more jobs at once, but each fetches smaller batches:
 *   the broker's cost is mostly per fetch and acknowledgement, so fewer, larger batches run no-op jobs faster (one
 *   consumer of 1,000 records beat two of 500 by about a quarter for 10 threads, see docs/benchmarks.md). Raise it
 *   when the broker is far (each fetch's round trip then idles the threads of a lone consumer)</td></tr>
 *   <tr><td>maxRecoveries</td><td>3</td><td>group mode: the poison cap. A job in flight in this many worker
 *   processes that died (crashed, SIGKILLed, or stuck past {@code revokeTimeout}), the last time running alone in its
 *   partition, goes to the DLQ (error class {@code crossfade.PoisonPill}) instead of running again, and its partition
 *   moves on; as {@code maxRecoveries} of the Redis backend. The count lives in the group's committed offset metadata,
 *   so whichever process owns the partition next sees it. After a worker died, its partitions' new owners run the
 *   jobs it may have started one at a time (or, when there were more than the runtime's threads, first together and
 *   one at a time only after a second death), each after a synchronous commit naming it. At least 2: the first death
 *   cannot tell which of the jobs in flight caused it</td></tr>
 *   <tr><td>shareDeliveryLimit</td><td>5</td><td>share mode: written to the group's
 *   {@code share.delivery.count.limit}, over the broker's {@code group.share.delivery.count.limit} (it accepts 2 to
 *   its {@code group.share.max.delivery.count.limit}, 10 by default). A record delivered this many times without an outcome (its workers crashed or timed out each time)
 *   goes to the DLQ instead of running again, so the broker never silently archives it. The headroom, limit − 1, is
 *   shared by everything that hands a record back unfinished: a crash, a lock that ran out, and a stop that could not
 *   finish its acquired records within {@code shutdownTimeout} (each acquisition counts, released or not). A graceful
 *   stop finishes what it acquired and costs none; see {@code ShareRunner}</td></tr>
 *   <tr><td>groupConfigs</td><td>none</td><td>group-level dynamic configs set with Admin before the workers join, e.g.
 *   {@code consumer.session.timeout.ms}, {@code share.record.lock.duration.ms} (share mode renews the locks of running
 *   jobs every half lock, so jobs may run longer than it). Share mode always sets
 *   {@code share.auto.offset.reset=earliest} (jobs enqueued before the first worker joined must run)</td></tr>
 *   <tr><td>enqueueTimeout</td><td>30 s</td><td>how long an enqueue waits for the broker's ack
 *   ({@code delivery.timeout.ms} and {@code max.block.ms}); past it the enqueue fails with an
 *   {@code EnqueueException} naming the topic</td></tr>
 *   <tr><td>schedulerPollInterval</td><td>100 ms</td><td>longest sleep of the delay scheduler's poll loop</td></tr>
 *   <tr><td>meterRegistry</td><td>none</td><td>Micrometer registry for batch and lag meters</td></tr>
 *   <tr><td>lagInterval</td><td>30 s</td><td>how often partition lag gauges are refreshed (with a registry)</td></tr>
 *   <tr><td>clientProperties</td><td>none</td><td>raw properties for every client the backend makes: producers,
 *   consumers, share consumers, the readers of DLQ listing, replay, transfer and lag, and the admin client. The place
 *   for {@code security.protocol}, {@code sasl.*} and {@code ssl.*}. Applied after the backend's own, before the
 *   per-kind properties below</td></tr>
 *   <tr><td>producerProperties</td><td>none</td><td>raw producer properties, applied last to each of the backend's
 *   producers (defaults: {@code acks=all}, idempotence on, {@code batch.size=65536}; {@code linger.ms=0} for single
 *   jobs, and {@code linger.ms=5} for batches, which each call flushes once its jobs are sent, so that a batch leaves
 *   together). The batch producer of calls with a time limit ({@code KafkaJobQueue.enqueueAll(jobs, limit)}, the router's)
 *   sets its own {@code max.block.ms}, {@code delivery.timeout.ms} and {@code request.timeout.ms} from that
 *   limit. Their {@code max.request.size} (1 MiB by default) sets the payload limit: an enqueue whose record would
 *   not leave 32 KiB for the error fields and headers a failed run adds is refused with a
 *   {@code PayloadTooLargeException}, and topics this backend creates accept records of that size. Give the workers'
 *   {@code ExecutionCore} a codec with at least that limit</td></tr>
 *   <tr><td>consumerProperties</td><td>none</td><td>raw consumer / share consumer properties, applied last (to the
 *   readers too, but for their group and offset settings)</td></tr>
 *   <tr><td>adminProperties</td><td>none</td><td>raw admin client properties, applied last</td></tr>
 * </table>
 */
public final class KafkaBackendConfig {
    /** How worker processes share a queue's topic. */
    public enum Mode {
        /** A consumer group: each partition has one owner; offsets are committed past finished jobs. */
        GROUP,
        /** A share group (KIP-932): records are acquired and acknowledged one by one by any number of consumers. */
        SHARE
    }

    /** Which jobs of a consumer group partition must not run concurrently. */
    public enum Ordering {
        /** Jobs of a partition run in offset order, one at a time. */
        PARTITION,
        /**
         * Jobs with the same record key (routing key, else jid) run in offset order, one at a time; jobs of other keys
         * run at the same time, up to the runtime's concurrency. The default.
         */
        KEY,
        /** No order: any job may run on any thread. */
        NONE
    }

    private static final Duration DELAY_RETENTION_MARGIN = Duration.ofDays(7);
    /** Worker threads per share consumer unless {@code shareConsumers} is set. */
    static final int THREADS_PER_SHARE_CONSUMER = 10;

    private final String bootstrapServers;
    private final String topicPrefix;
    private final boolean createTopics;
    private final int partitions;
    private final Optional<Short> replication;
    private final Duration dlqRetention;
    private final Duration delayRetention; // null: the longest tier + 7 days
    private final List<Duration> delayTiers;
    private final Mode mode;
    private final String groupId;
    private final String groupProtocol;
    private final Ordering ordering;
    private final int maxPollRecords; // 0: the mode's default (see the getters), kept as set so toBuilder() keeps it
    private final Duration fetchMaxWait;
    private final int maxBufferedPerPartition; // 0: 2 × maxPollRecords()
    private final long maxBufferedBytesPerPartition;
    private final Duration commitInterval;
    private final Duration revokeTimeout;
    private final Duration shutdownTimeout;
    private final int shareConsumers;
    private final int shareDeliveryLimit;
    private final int maxRecoveries;
    private final Map<String, String> groupConfigs;
    private final Duration enqueueTimeout;
    private final Duration schedulerPollInterval;
    private final MeterRegistry meterRegistry;
    private final Duration lagInterval;
    private final Map<String, Object> clientProperties;
    private final Map<String, Object> producerProperties;
    private final Map<String, Object> consumerProperties;
    private final Map<String, Object> adminProperties;

    private KafkaBackendConfig(Builder b) {
        this.bootstrapServers = b.bootstrapServers;
        this.topicPrefix = b.topicPrefix;
        this.createTopics = b.createTopics;
        this.partitions = b.partitions;
        this.replication = b.replication;
        this.dlqRetention = b.dlqRetention;
        this.delayRetention = b.delayRetention;
        this.delayTiers = List.copyOf(b.delayTiers);
        this.mode = b.mode;
        this.groupId = b.groupId != null ? b.groupId : b.topicPrefix + ".workers";
        this.groupProtocol = b.groupProtocol;
        this.ordering = b.ordering;
        this.maxPollRecords = b.maxPollRecords;
        this.fetchMaxWait = b.fetchMaxWait;
        this.maxBufferedPerPartition = b.maxBufferedPerPartition;
        this.maxBufferedBytesPerPartition = b.maxBufferedBytesPerPartition;
        this.commitInterval = b.commitInterval;
        this.revokeTimeout = b.revokeTimeout;
        this.shutdownTimeout = b.shutdownTimeout;
        this.shareConsumers = b.shareConsumers;
        this.shareDeliveryLimit = b.shareDeliveryLimit;
        this.maxRecoveries = b.maxRecoveries;
        this.groupConfigs = Collections.unmodifiableMap(new LinkedHashMap<>(b.groupConfigs));
        this.enqueueTimeout = b.enqueueTimeout;
        this.schedulerPollInterval = b.schedulerPollInterval;
        this.meterRegistry = b.meterRegistry;
        this.lagInterval = b.lagInterval;
        this.clientProperties = Collections.unmodifiableMap(new LinkedHashMap<>(b.clientProperties));
        this.producerProperties = Collections.unmodifiableMap(new LinkedHashMap<>(b.producerProperties));
        this.consumerProperties = Collections.unmodifiableMap(new LinkedHashMap<>(b.consumerProperties));
        this.adminProperties = Collections.unmodifiableMap(new LinkedHashMap<>(b.adminProperties));
    }

    /** A builder with every default from the table above; only {@code bootstrapServers} is required. */
    public static Builder custom() {
        return new Builder();
    }

    /** A builder starting from this configuration, for a variant (another mode, another group). */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.bootstrapServers = bootstrapServers;
        b.topicPrefix = topicPrefix;
        b.createTopics = createTopics;
        b.partitions = partitions;
        b.replication = replication;
        b.dlqRetention = dlqRetention;
        b.delayRetention = delayRetention;
        b.delayTiers = new ArrayList<>(delayTiers);
        b.mode = mode;
        b.groupId = groupId;
        b.groupProtocol = groupProtocol;
        b.ordering = ordering;
        b.maxPollRecords = maxPollRecords;
        b.fetchMaxWait = fetchMaxWait;
        b.maxBufferedPerPartition = maxBufferedPerPartition;
        b.maxBufferedBytesPerPartition = maxBufferedBytesPerPartition;
        b.commitInterval = commitInterval;
        b.revokeTimeout = revokeTimeout;
        b.shutdownTimeout = shutdownTimeout;
        b.shareConsumers = shareConsumers;
        b.shareDeliveryLimit = shareDeliveryLimit;
        b.maxRecoveries = maxRecoveries;
        b.groupConfigs.putAll(groupConfigs);
        b.enqueueTimeout = enqueueTimeout;
        b.schedulerPollInterval = schedulerPollInterval;
        b.meterRegistry = meterRegistry;
        b.lagInterval = lagInterval;
        b.clientProperties.putAll(clientProperties);
        b.producerProperties.putAll(producerProperties);
        b.consumerProperties.putAll(consumerProperties);
        b.adminProperties.putAll(adminProperties);
        return b;
    }

    public String bootstrapServers() {
        return bootstrapServers;
    }

    public String topicPrefix() {
        return topicPrefix;
    }

    public boolean createTopics() {
        return createTopics;
    }

    public int partitions() {
        return partitions;
    }

    /** The replication of created topics; empty: the broker's default. */
    public Optional<Short> replication() {
        return replication;
    }

    public Duration dlqRetention() {
        return dlqRetention;
    }

    /** As set, else the longest delay tier plus 7 days. */
    public Duration delayRetention() {
        return delayRetention != null
                ? delayRetention
                : delayTiers.get(delayTiers.size() - 1).plus(DELAY_RETENTION_MARGIN);
    }

    public List<Duration> delayTiers() {
        return delayTiers;
    }

    public Mode mode() {
        return mode;
    }

    public String groupId() {
        return groupId;
    }

    /**
     * The group of {@code queue}'s workers: consumer group {@code <groupId>:<queue>} in group mode (':' never occurs
     * in a queue name, so no two queues' groups can meet), share group {@code <groupId>} in share mode.
     */
    public String workerGroup(String queue) {
        return mode == Mode.SHARE ? groupId : groupId + ":" + queue;
    }

    /** The consumer group of {@code queue}'s delay scheduler: {@code <groupId>:<queue>:scheduler}. */
    public String schedulerGroup(String queue) {
        return groupId + ":" + queue + ":scheduler";
    }

    public String groupProtocol() {
        return groupProtocol;
    }

    public Ordering ordering() {
        return ordering;
    }

    /** {@code max.poll.records} of group-mode consumers: as set, else 2000. */
    public int maxPollRecords() {
        return maxPollRecords > 0 ? maxPollRecords : 2000;
    }

    /**
     * {@code max.poll.records} of each share consumer of a runtime with {@code concurrency} worker threads: as set,
     * else 100 per thread it feeds (the runtime's threads divided among its {@code shareConsumers}), from 100 to 1,000.
     * A share consumer locks every record it fetches, so a runtime then holds about as many jobs per thread whatever
     * its thread count.
     */
    public int shareMaxPollRecords(int concurrency) {
        int threadsEach = Math.max(1, concurrency / shareConsumers(concurrency));
        return maxPollRecords > 0 ? maxPollRecords : Math.max(100, Math.min(1_000, 100 * threadsEach));
    }

    public Duration fetchMaxWait() {
        return fetchMaxWait;
    }

    public int maxBufferedPerPartition() {
        return maxBufferedPerPartition > 0 ? maxBufferedPerPartition : 2 * maxPollRecords();
    }

    public long maxBufferedBytesPerPartition() {
        return maxBufferedBytesPerPartition;
    }

    public Duration commitInterval() {
        return commitInterval;
    }

    public Duration revokeTimeout() {
        return revokeTimeout;
    }

    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    /**
     * Share consumers of a runtime with {@code concurrency} worker threads: as set, else one per
     * {@value #THREADS_PER_SHARE_CONSUMER} threads (at least one).
     */
    public int shareConsumers(int concurrency) {
        return shareConsumers > 0 ? shareConsumers : Math.max(1, concurrency / THREADS_PER_SHARE_CONSUMER);
    }

    public int shareDeliveryLimit() {
        return shareDeliveryLimit;
    }

    public int maxRecoveries() {
        return maxRecoveries;
    }

    public Map<String, String> groupConfigs() {
        return groupConfigs;
    }

    public Duration enqueueTimeout() {
        return enqueueTimeout;
    }

    public Duration schedulerPollInterval() {
        return schedulerPollInterval;
    }

    /** Null when no registry is configured. */
    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    public Duration lagInterval() {
        return lagInterval;
    }

    public Map<String, Object> clientProperties() {
        return clientProperties;
    }

    public Map<String, Object> producerProperties() {
        return producerProperties;
    }

    public Map<String, Object> consumerProperties() {
        return consumerProperties;
    }

    public Map<String, Object> adminProperties() {
        return adminProperties;
    }

    @Override
    public String toString() {
        return "KafkaBackendConfig{" + bootstrapServers + " prefix=" + topicPrefix + " mode=" + mode + " group="
                + groupId + " ordering=" + ordering + "}";
    }

    /** Mutable builder for {@link KafkaBackendConfig}; see the class javadoc for every setting's meaning and default. */
    public static final class Builder {
        private String bootstrapServers;
        private String topicPrefix = "crossfade";
        private boolean createTopics = true;
        private int partitions = 6;
        private Optional<Short> replication = Optional.empty();
        private Duration dlqRetention = Duration.ofDays(180);
        private Duration delayRetention;
        private List<Duration> delayTiers = new ArrayList<>(List.of(
                Duration.ofSeconds(1),
                Duration.ofSeconds(5),
                Duration.ofSeconds(30),
                Duration.ofMinutes(2),
                Duration.ofMinutes(10),
                Duration.ofHours(1),
                Duration.ofHours(6)));
        private Mode mode = Mode.GROUP;
        private String groupId;
        private String groupProtocol = "consumer";
        private Ordering ordering = Ordering.KEY;
        private int maxPollRecords; // 0: the mode's default
        private Duration fetchMaxWait = Duration.ofMillis(100);
        private int maxBufferedPerPartition;
        private long maxBufferedBytesPerPartition = 16L * 1024 * 1024;
        private Duration commitInterval = Duration.ofMillis(500);
        private Duration revokeTimeout = Duration.ofSeconds(10);
        private Duration shutdownTimeout = Duration.ofSeconds(25);
        private int shareConsumers; // 0: by the runtime's threads
        private int shareDeliveryLimit = 5;
        private int maxRecoveries = 3;
        private final Map<String, String> groupConfigs = new LinkedHashMap<>();
        private Duration enqueueTimeout = Duration.ofSeconds(30);
        private Duration schedulerPollInterval = Duration.ofMillis(100);
        private MeterRegistry meterRegistry;
        private Duration lagInterval = Duration.ofSeconds(30);
        private final Map<String, Object> clientProperties = new LinkedHashMap<>();
        private final Map<String, Object> producerProperties = new LinkedHashMap<>();
        private final Map<String, Object> consumerProperties = new LinkedHashMap<>();
        private final Map<String, Object> adminProperties = new LinkedHashMap<>();

        private Builder() {}

        public Builder bootstrapServers(String bootstrapServers) {
            this.bootstrapServers = requireText(bootstrapServers, "bootstrapServers");
            return this;
        }

        public Builder topicPrefix(String topicPrefix) {
            String p = requireText(topicPrefix, "topicPrefix");
            if (!p.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("topicPrefix '" + p + "' may only hold [A-Za-z0-9._-]");
            }
            this.topicPrefix = p;
            return this;
        }

        public Builder createTopics(boolean createTopics) {
            this.createTopics = createTopics;
            return this;
        }

        public Builder partitions(int partitions) {
            this.partitions = positive(partitions, "partitions");
            return this;
        }

        /** The replication of created topics (at least 1); empty: the broker's default. */
        public Builder replication(Optional<Short> replication) {
            Objects.requireNonNull(replication, "replication");
            if (replication.isPresent() && replication.get() < 1) {
                throw new IllegalArgumentException(
                        "replication must be >= 1 (or empty for the broker's default), got " + replication.get());
            }
            this.replication = replication;
            return this;
        }

        /** The replication of created topics, at least 1. */
        public Builder replication(int replication) {
            if (replication < 1 || replication > Short.MAX_VALUE) {
                throw new IllegalArgumentException("replication must be >= 1, got " + replication);
            }
            return replication(Optional.of((short) replication));
        }

        /**
         * The replication of created topics, -1 for the broker's default.
         *
         * @deprecated use {@link #replication(int)}, or {@link #replication(Optional)} with an empty value
         */
        @Deprecated
        public Builder replicationFactor(int replicationFactor) {
            return replicationFactor == -1 ? replication(Optional.empty()) : replication(replicationFactor);
        }

        public Builder dlqRetention(Duration retention) {
            this.dlqRetention = atLeastAMinute(retention, "dlqRetention");
            return this;
        }

        /** Must be longer than the longest delay tier (checked by {@link #build()}). */
        public Builder delayRetention(Duration retention) {
            this.delayRetention = atLeastAMinute(retention, "delayRetention");
            return this;
        }

        /** The delay tiers, any order; each at least 100 ms. */
        public Builder delayTiers(List<Duration> tiers) {
            if (tiers == null || tiers.isEmpty()) {
                throw new IllegalArgumentException("delayTiers must not be empty");
            }
            List<Duration> sorted = new ArrayList<>(tiers);
            sorted.sort(null);
            if (sorted.get(0).toMillis() < 100) {
                throw new IllegalArgumentException("delay tiers must be at least 100 ms, got " + sorted.get(0));
            }
            if (sorted.stream().distinct().count() != sorted.size()) {
                throw new IllegalArgumentException("delay tiers must be distinct: " + tiers);
            }
            this.delayTiers = sorted;
            return this;
        }

        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        public Builder groupId(String groupId) {
            this.groupId = requireText(groupId, "groupId");
            return this;
        }

        /** {@code consumer} (KIP-848) or {@code classic}. */
        public Builder groupProtocol(String groupProtocol) {
            String p = requireText(groupProtocol, "groupProtocol").toLowerCase(java.util.Locale.ROOT);
            if (!p.equals("consumer") && !p.equals("classic")) {
                throw new IllegalArgumentException(
                        "groupProtocol must be 'consumer' or 'classic', got '" + groupProtocol + "'");
            }
            this.groupProtocol = p;
            return this;
        }

        public Builder ordering(Ordering ordering) {
            this.ordering = Objects.requireNonNull(ordering, "ordering");
            return this;
        }

        public Builder maxPollRecords(int maxPollRecords) {
            this.maxPollRecords = positive(maxPollRecords, "maxPollRecords");
            return this;
        }

        public Builder fetchMaxWait(Duration fetchMaxWait) {
            this.fetchMaxWait = nonNegative(fetchMaxWait, "fetchMaxWait");
            return this;
        }

        public Builder maxBufferedPerPartition(int max) {
            this.maxBufferedPerPartition = positive(max, "maxBufferedPerPartition");
            return this;
        }

        public Builder maxBufferedBytesPerPartition(long maxBytes) {
            if (maxBytes < 1) {
                throw new IllegalArgumentException("maxBufferedBytesPerPartition must be >= 1, got " + maxBytes);
            }
            this.maxBufferedBytesPerPartition = maxBytes;
            return this;
        }

        public Builder commitInterval(Duration commitInterval) {
            this.commitInterval = nonNegative(commitInterval, "commitInterval");
            return this;
        }

        public Builder revokeTimeout(Duration revokeTimeout) {
            this.revokeTimeout = nonNegative(revokeTimeout, "revokeTimeout");
            return this;
        }

        public Builder shutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = nonNegative(shutdownTimeout, "shutdownTimeout");
            return this;
        }

        public Builder shareConsumers(int shareConsumers) {
            this.shareConsumers = positive(shareConsumers, "shareConsumers");
            return this;
        }

        public Builder maxRecoveries(int maxRecoveries) {
            if (maxRecoveries < 2) {
                throw new IllegalArgumentException(
                        "maxRecoveries must be at least 2 (the first death cannot tell which "
                                + "of the jobs in flight caused it), got " + maxRecoveries);
            }
            this.maxRecoveries = maxRecoveries;
            return this;
        }

        public Builder shareDeliveryLimit(int limit) {
            if (limit < 2 || limit > 10) {
                throw new IllegalArgumentException(
                        "shareDeliveryLimit must be within 2..10 (the broker's bounds), got " + limit);
            }
            this.shareDeliveryLimit = limit;
            return this;
        }

        /** A group-level dynamic config applied with Admin before the workers join. */
        public Builder groupConfig(String key, String value) {
            groupConfigs.put(requireText(key, "key"), requireText(value, "value"));
            return this;
        }

        public Builder enqueueTimeout(Duration enqueueTimeout) {
            if (enqueueTimeout == null || enqueueTimeout.toMillis() < 1000) {
                throw new IllegalArgumentException("enqueueTimeout must be at least 1 s, got " + enqueueTimeout);
            }
            this.enqueueTimeout = enqueueTimeout;
            return this;
        }

        public Builder schedulerPollInterval(Duration interval) {
            if (interval == null || interval.toMillis() < 1) {
                throw new IllegalArgumentException("schedulerPollInterval must be at least 1 ms, got " + interval);
            }
            this.schedulerPollInterval = interval;
            return this;
        }

        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = meterRegistry;
            return this;
        }

        public Builder lagInterval(Duration lagInterval) {
            if (lagInterval == null || lagInterval.toMillis() < 100) {
                throw new IllegalArgumentException("lagInterval must be at least 100 ms, got " + lagInterval);
            }
            this.lagInterval = lagInterval;
            return this;
        }

        /**
         * A raw property for every client the backend makes ({@code security.protocol}, {@code sasl.*},
         * {@code ssl.*}), applied after the backend's own and before the per-kind properties.
         */
        public Builder clientProperty(String key, Object value) {
            clientProperties.put(requireText(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** A raw producer property, applied after the backend's own (so it can override them). */
        public Builder producerProperty(String key, Object value) {
            producerProperties.put(requireText(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** A raw consumer / share consumer property, applied after the backend's own. */
        public Builder consumerProperty(String key, Object value) {
            consumerProperties.put(requireText(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** A raw admin client property, applied after the backend's own. */
        public Builder adminProperty(String key, Object value) {
            adminProperties.put(requireText(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * @throws IllegalArgumentException when {@code bootstrapServers} is missing
         */
        public KafkaBackendConfig build() {
            if (bootstrapServers == null) {
                throw new IllegalArgumentException("bootstrapServers is required");
            }
            Duration longest = delayTiers.get(delayTiers.size() - 1);
            if (delayRetention != null && delayRetention.compareTo(longest) <= 0) {
                throw new IllegalArgumentException("delayRetention (" + delayRetention + ") must be longer than the "
                        + "longest delay tier (" + longest + "), or a job waiting in it would expire");
            }
            return new KafkaBackendConfig(this);
        }

        private static String requireText(String v, String name) {
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(name + " must be a non-empty string");
            }
            return v.trim();
        }

        private static int positive(int v, String name) {
            if (v < 1) {
                throw new IllegalArgumentException(name + " must be >= 1, got " + v);
            }
            return v;
        }

        private static Duration atLeastAMinute(Duration d, String name) {
            if (d == null || d.compareTo(Duration.ofMinutes(1)) < 0) {
                throw new IllegalArgumentException(name + " must be at least 1 minute, got " + d);
            }
            return d;
        }

        private static Duration nonNegative(Duration d, String name) {
            if (d == null || d.isNegative()) {
                throw new IllegalArgumentException(name + " must be a non-negative duration, got " + d);
            }
            return d;
        }
    }
}
