package dev.crossfade.tools.drill;

import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalKafkaCluster;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.LocalRedisSentinel;
import dev.crossfade.kafka.PartitionLag;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;

/**
 * The cluster drill's servers and the faults it injects into them: a three-node KRaft cluster (replication 3,
 * min.insync.replicas 2) and Redis behind Sentinel (a master, a replica, three sentinels). Each fault returns once the
 * servers are whole again (every node back in the ISR, the old master a synced replica), so the next fault never hits
 * a cluster still missing a node: that would test unavailability, which the router's fallback covers, not loss.
 */
final class ClusterServers implements AutoCloseable {
    private static final Duration BACK_IN_SYNC = Duration.ofSeconds(90);
    private static final Duration DOWN_FOR = Duration.ofSeconds(5);
    private static final Duration FROZEN_FOR = Duration.ofSeconds(4);
    /** Sentinel's {@code down-after-milliseconds}. */
    static final Duration SENTINEL_DOWN_AFTER = Duration.ofSeconds(5);

    private final LocalKafkaCluster kafka;
    private final LocalRedisSentinel redis;
    private int sentinelRestarts;

    private ClusterServers(LocalKafkaCluster kafka, LocalRedisSentinel redis) {
        this.kafka = kafka;
        this.redis = redis;
    }

    /** Starts both (Kafka as {@code crossfade demo --cluster} does); on a failure, whatever started is stopped. */
    static ClusterServers start(int partitions) {
        LocalRedisSentinel redis = LocalRedisSentinel.builder()
                // Not the dev services' 1 s: on a loaded machine a master that misses pings for 1 s after a failover
                // is failed over again, to the old master that just restarted empty, and the data is gone.
                .downAfter(SENTINEL_DOWN_AFTER)
                .nodeArgs("--maxmemory-policy", "noeviction")
                .build();
        LocalKafkaCluster kafka =
                LocalKafkaCluster.builder().partitions(partitions).build();
        try {
            redis.start();
            kafka.start();
            return new ClusterServers(kafka, redis);
        } catch (RuntimeException e) {
            kafka.close();
            redis.close();
            throw e;
        }
    }

    String redisUrl() {
        return redis.uri().toString();
    }

    String bootstrapServers() {
        return kafka.bootstrapServers();
    }

    /** The partition with the most lag now (ties: the longest), from the backend's lag. */
    static int busiest(List<PartitionLag> lag) {
        return lag.stream()
                .max(Comparator.comparingLong(PartitionLag::offsetLag).thenComparingLong(PartitionLag::endOffset))
                .map(PartitionLag::partition)
                .orElse(0);
    }

    /** SIGKILL of the leader of {@code partition}; restarted on its data after a few seconds; back in every ISR. */
    String killLeader(String topic, int partition, int partitions) {
        LocalKafka leader = kafka.leaderOf(topic, partition);
        leader.kill();
        sleep(DOWN_FOR);
        leader.start();
        long back = awaitInSync(leader, topic, partitions);
        return "node " + leader.nodeId() + " (leader of " + topic + "-" + partition + ", the busiest) SIGKILLed, "
                + "restarted after " + DOWN_FOR.toSeconds() + " s, in every ISR " + back + " ms later";
    }

    /** SIGSTOP of the leader of {@code partition} for a few seconds, then SIGCONT. */
    String pauseLeader(String topic, int partition, int partitions) {
        LocalKafka node = kafka.leaderOf(topic, partition);
        node.pause();
        try {
            sleep(FROZEN_FOR);
        } finally {
            node.resume();
        }
        long back = awaitInSync(node, topic, partitions);
        return "node " + node.nodeId() + " (leader of " + topic + "-" + partition + ") frozen " + FROZEN_FOR.toSeconds()
                + " s, in every ISR " + back + " ms after SIGCONT";
    }

    /** SIGTERM of a node that does not lead {@code partition}; restarted; back in every ISR. */
    String restartFollower(String topic, int partition, int partitions) {
        LocalKafka leader = kafka.leaderOf(topic, partition);
        LocalKafka follower =
                kafka.nodes().stream().filter(n -> n != leader).findFirst().orElseThrow();
        follower.stop();
        sleep(DOWN_FOR);
        follower.start();
        long back = awaitInSync(follower, topic, partitions);
        return "node " + follower.nodeId() + " (a follower of " + topic + "-" + partition + ") stopped (SIGTERM), "
                + "restarted after " + DOWN_FOR.toSeconds() + " s, in every ISR " + back + " ms later";
    }

    /** SIGKILL of the Redis master; Sentinel promotes the replica; the old master rejoins as its replica. */
    String failOverRedis() {
        long begin = System.nanoTime();
        LocalRedis old = redis.killMaster();
        LocalRedis promoted = redis.awaitPromotion(old, Duration.ofSeconds(30));
        long promotedMs = millisSince(begin);
        redis.rejoin(old, Duration.ofSeconds(30));
        return "master :" + old.port() + " SIGKILLed, :" + promoted.port() + " promoted after " + promotedMs
                + " ms, old master a synced replica after " + millisSince(begin) + " ms";
    }

    /** A graceful restart of one sentinel, in turn. */
    String restartSentinel() {
        int index = sentinelRestarts++ % 3;
        long begin = System.nanoTime();
        redis.restartSentinel(index);
        return "sentinel " + (index + 1) + " of 3 restarted in " + millisSince(begin) + " ms";
    }

    /** Waits until {@code node} is in the ISR of every partition of {@code topic}; returns how long that took. */
    private long awaitInSync(LocalKafka node, String topic, int partitions) {
        long begin = System.nanoTime();
        kafka.awaitBrokers(3, BACK_IN_SYNC);
        await(
                () -> {
                    for (int p = 0; p < partitions; p++) {
                        if (!kafka.inSyncReplicas(topic, p).contains(node.nodeId())) {
                            return false;
                        }
                    }
                    return true;
                },
                begin + BACK_IN_SYNC.toNanos(),
                "node " + node.nodeId() + " back in the ISR of " + topic);
        return millisSince(begin);
    }

    private static void await(Supplier<Boolean> done, long deadline, String what) {
        RuntimeException last = null;
        while (System.nanoTime() < deadline) {
            try {
                if (done.get()) {
                    return;
                }
            } catch (RuntimeException e) {
                last = e; // a node still starting: ask again
            }
            sleep(Duration.ofMillis(250));
        }
        throw new IllegalStateException("timed out waiting for " + what, last);
    }

    private static long millisSince(long nanos) {
        return Duration.ofNanos(System.nanoTime() - nanos).toMillis();
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        try {
            kafka.close();
        } finally {
            redis.close();
        }
    }
}
