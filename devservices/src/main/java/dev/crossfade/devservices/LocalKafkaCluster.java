package dev.crossfade.devservices;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Kafka cluster of several KRaft nodes (three by default), each a {@link LocalKafka} child JVM that is broker
 * and controller at once, so one node can be stopped, SIGKILLed, frozen and restarted while the others keep a quorum.
 * Topics default to replication 3 and {@code min.insync.replicas} 2, as production clusters run: with
 * {@code acks=all}, one node down still takes writes, and an acknowledged record is on at least two nodes.
 *
 * <pre>{@code
 * try (LocalKafkaCluster cluster = LocalKafkaCluster.builder().partitions(6).build().start()) {
 *     props.put("bootstrap.servers", cluster.bootstrapServers());
 *     LocalKafka leader = cluster.leaderOf("jobs", 0);
 *     leader.kill();     // SIGKILL; the others elect a new leader
 *     leader.start();    // same ports and data; it catches up and rejoins the ISR
 * }
 * }</pre>
 *
 * <p>Each node's heap is small ({@link #DEFAULT_JVM_OPTIONS}) so three fit on a small CI machine. Not for production use.
 */
public final class LocalKafkaCluster implements KafkaService {
    private static final Logger LOG = LoggerFactory.getLogger(LocalKafkaCluster.class);
    private static final String HOST = "127.0.0.1";

    /**
     * Per node: a small heap, the serial collector, and the client compiler only, which starts three JVMs on two cores
     * in about half the CPU time; a cluster is for fault tests, not for throughput figures.
     */
    public static final List<String> DEFAULT_JVM_OPTIONS = List.of(
            "-Xms64m",
            "-Xmx384m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true");

    private final int size;
    private final int replication;
    private final int minInsyncReplicas;
    /** Every node's options; start() adds each node's place in the cluster and builds it. */
    private final LocalKafka.Builder node;

    private final List<LocalKafka> nodes = new ArrayList<>();
    private boolean started;

    private LocalKafkaCluster(Builder b) {
        this.size = b.nodes;
        this.replication = Math.min(b.replication, b.nodes);
        this.minInsyncReplicas = Math.min(b.minInsyncReplicas, b.nodes);
        this.node = b.node.copy();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts every node at once (none answers before a majority of controllers is up) and waits until each is a
     * registered broker. Does nothing if already started; use a node's {@link LocalKafka#start()} to bring one back.
     *
     * @throws DevServiceException if a node does not start; the message ends with its log's tail
     */
    public synchronized LocalKafkaCluster start() {
        if (started) {
            return this;
        }
        started = true;
        long begin = System.nanoTime();
        String clusterId = Uuid.randomUuid().toString();
        int n = size;
        List<Integer> ports = new ArrayList<>();
        while (ports.size() < n * 3) {
            int p = Processes.freePort();
            if (!ports.contains(p)) {
                ports.add(p);
            }
        }
        String voters = java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> (i + 1) + "@" + HOST + ":" + ports.get(3 * i + 1))
                .collect(Collectors.joining(","));
        for (int i = 0; i < n; i++) {
            nodes.add(node.clusterNode(new LocalKafka.ClusterNode(
                            i + 1,
                            ports.get(3 * i),
                            ports.get(3 * i + 1),
                            node.secured() ? ports.get(3 * i + 2) : 0,
                            voters,
                            clusterId,
                            replication,
                            minInsyncReplicas))
                    .build());
        }
        try {
            CompletableFuture.allOf(nodes.stream()
                            .map(k -> CompletableFuture.runAsync(k::start))
                            .toArray(CompletableFuture[]::new))
                    .join();
        } catch (CompletionException e) {
            close();
            throw e.getCause() instanceof DevServiceException d
                    ? d
                    : new DevServiceException("a Kafka cluster node did not start", e.getCause());
        }
        awaitBrokers(n, node.startupLimit());
        LOG.info(
                "Kafka cluster of {} nodes ready at {} in {} ms",
                n,
                bootstrapServers(),
                Duration.ofNanos(System.nanoTime() - begin).toMillis());
        return this;
    }

    /** Waits until {@code count} brokers are registered and unfenced, e.g. after a node's restart. */
    public void awaitBrokers(int count, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        Object last = null;
        try (Admin admin = admin()) {
            while (System.nanoTime() < deadline) {
                try {
                    int seen = admin.describeCluster(new DescribeClusterOptions().timeoutMs(2000))
                            .nodes()
                            .get(3, TimeUnit.SECONDS)
                            .size();
                    if (seen >= count) {
                        return;
                    }
                    last = seen + " brokers";
                } catch (ExecutionException | TimeoutException e) {
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DevServiceException("interrupted while waiting for the Kafka cluster", e);
                }
                sleep(100);
            }
        }
        throw new DevServiceException(
                "the Kafka cluster did not show " + count + " brokers within " + timeout + " (last: " + last + ")");
    }

    /**
     * The node leading a partition right now.
     *
     * @throws DevServiceException if the topic does not exist or the partition has no leader (within 10 s)
     */
    public LocalKafka leaderOf(String topic, int partition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Exception last = null;
        try (Admin admin = admin()) {
            while (System.nanoTime() < deadline) {
                try {
                    TopicDescription d = admin.describeTopics(List.of(topic))
                            .allTopicNames()
                            .get(5, TimeUnit.SECONDS)
                            .get(topic);
                    Optional<Node> leader = d.partitions().stream()
                            .filter(p -> p.partition() == partition)
                            .map(TopicPartitionInfo::leader)
                            .filter(Objects::nonNull)
                            .findFirst();
                    if (leader.isPresent()
                            && leader.get().id() >= 1
                            && leader.get().id() <= nodes.size()) {
                        return nodes.get(leader.get().id() - 1);
                    }
                } catch (ExecutionException | TimeoutException e) {
                    last = e;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DevServiceException("interrupted while looking for a leader", e);
                }
                sleep(100);
            }
        }
        throw new DevServiceException(
                "no leader for " + topic + "-" + partition + " within 10s (last error: " + last + ")");
    }

    /** The in-sync replicas of a partition, by node id: to see a restarted node catch up. */
    public List<Integer> inSyncReplicas(String topic, int partition) {
        try (Admin admin = admin()) {
            TopicDescription d = admin.describeTopics(List.of(topic))
                    .allTopicNames()
                    .get(10, TimeUnit.SECONDS)
                    .get(topic);
            return d.partitions().get(partition).isr().stream().map(Node::id).toList();
        } catch (ExecutionException | TimeoutException e) {
            throw new DevServiceException("cannot describe " + topic, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted while describing " + topic, e);
        }
    }

    /** An admin client on the brokers' internal plaintext listeners of the running nodes; close it. */
    private Admin admin() {
        Properties props = new Properties();
        props.put(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                nodes.stream()
                        .filter(LocalKafka::isRunning)
                        .map(LocalKafka::internalBootstrap)
                        .collect(Collectors.joining(",")));
        props.put(AdminClientConfig.CLIENT_ID_CONFIG, "crossfade-devservices-cluster");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
        props.put(AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "200");
        return Admin.create(props);
    }

    /** Every node's client address (the SASL_SSL listener when {@link Builder#security} is set), comma-separated. */
    @Override
    public synchronized String bootstrapServers() {
        if (nodes.isEmpty()) {
            throw new IllegalStateException("LocalKafkaCluster has no nodes before start()");
        }
        return nodes.stream().map(LocalKafka::bootstrapServers).collect(Collectors.joining(","));
    }

    /** The nodes, in node id order (node id = index + 1); each can be stopped, killed, paused and restarted. */
    public synchronized List<LocalKafka> nodes() {
        return List.copyOf(nodes);
    }

    /** The node with this {@code node.id} (from 1). */
    public synchronized LocalKafka node(int nodeId) {
        return nodes.get(nodeId - 1);
    }

    @Override
    public boolean isControllable() {
        return true;
    }

    /** Stops every node and deletes their directories. */
    @Override
    public synchronized void close() {
        // Stop all at once: one by one, each survivor would first move leaderships around.
        CompletableFuture.allOf(nodes.stream()
                        .map(k -> CompletableFuture.runAsync(k::close))
                        .toArray(CompletableFuture[]::new))
                .exceptionally(e -> null)
                .join();
    }

    @Override
    public synchronized String toString() {
        return "LocalKafkaCluster" + nodes;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted", e);
        }
    }

    /**
     * Options of a {@link LocalKafkaCluster}; defaults: three nodes, replication 3, min.insync.replicas 2. The per-node
     * options are those of {@link LocalKafka.Builder}, which checks them, with a cluster's own defaults.
     */
    public static final class Builder {
        private int nodes = 3;
        private int replication = 3;
        private int minInsyncReplicas = 2;
        private final LocalKafka.Builder node;

        private Builder() {
            this.node = LocalKafka.builder()
                    .jvmOptions(DEFAULT_JVM_OPTIONS.toArray(String[]::new))
                    .startupTimeout(Duration.ofSeconds(120));
        }

        /** How many nodes, each broker and controller; at least 1, odd for a meaningful quorum. Default 3. */
        public Builder nodes(int nodes) {
            if (nodes < 1) {
                throw new IllegalArgumentException("nodes must be >= 1: " + nodes);
            }
            this.nodes = nodes;
            return this;
        }

        /** {@code default.replication.factor}, also of the internal topics; at most the node count. Default 3. */
        public Builder replication(int replication) {
            this.replication = replication;
            return this;
        }

        /** {@code min.insync.replicas}. Default 2. */
        public Builder minInsyncReplicas(int minInsyncReplicas) {
            this.minInsyncReplicas = minInsyncReplicas;
            return this;
        }

        /** As {@link LocalKafka.Builder#partitions}, on every node. Default 1. */
        public Builder partitions(int partitions) {
            node.partitions(partitions);
            return this;
        }

        /** Replaces {@link #DEFAULT_JVM_OPTIONS} for every node. */
        public Builder jvmOptions(String... options) {
            node.jvmOptions(options);
            return this;
        }

        /** Sets one property on every node, after the built-in ones. */
        public Builder brokerProperty(String key, String value) {
            node.brokerProperty(key, value);
            return this;
        }

        /** How long each node may take to answer. Default 120 s. */
        public Builder startupTimeout(Duration timeout) {
            node.startupTimeout(timeout);
            return this;
        }

        /** As {@link LocalKafka.Builder#logLevel}, on every node (each node's output goes to its {@code broker.log}). */
        public Builder logLevel(String level) {
            node.logLevel(level);
            return this;
        }

        /** A SASL_SSL listener on every node, as {@link LocalKafka.Builder#security}. */
        public Builder security(KafkaSecurity security) {
            node.security(security);
            return this;
        }

        /** An unstarted cluster; call {@link LocalKafkaCluster#start()}. */
        public LocalKafkaCluster build() {
            return new LocalKafkaCluster(this);
        }
    }
}
