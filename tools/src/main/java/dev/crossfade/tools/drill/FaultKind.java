package dev.crossfade.tools.drill;

import java.util.List;
import java.util.Locale;

/**
 * The faults the drill injects, in the order the schedule cycles through them. Some hit the one-broker, one-Redis
 * servers of the plain drill, some the three-node Kafka cluster and Sentinel-watched Redis of {@code --cluster}, the
 * rest (workers, payloads, flags) either.
 */
public enum FaultKind {
    /** SIGKILL of a worker process mid-batch, then a replacement is started. */
    WORKER_SIGKILL("worker SIGKILL", Servers.ANY),
    /** SIGSTOP of the Kafka broker for a few seconds, then SIGCONT: a hang, not a crash. */
    BROKER_PAUSE("broker SIGSTOP/SIGCONT", Servers.SINGLE),
    /** Redis SIGKILLed and restarted on its append-only file (fsync always). */
    REDIS_RESTART("Redis kill+restart", Servers.SINGLE),
    /** The Kafka broker stopped (alternately SIGTERM and SIGKILL) and restarted on the same data. */
    BROKER_RESTART("broker stop/kill+restart", Servers.SINGLE),
    /** An extra worker process joins the consumer group and later leaves with SIGTERM. */
    CONSUMER_JOIN_LEAVE("consumer join+leave", Servers.ANY),
    /** Raw bytes that are not a job, pushed onto the Redis queue and produced to the Kafka topic. */
    MALFORMED_PAYLOAD("malformed payload", Servers.ANY),
    /** A job whose worker always throws and a job of an unregistered class, enqueued through the router. */
    POISON_JOB("poison job", Servers.ANY),
    /** The flags file replaced by garbage, then restored. */
    FLAGS_GARBAGE("flags file garbage", Servers.ANY),
    /** Redis frozen (SIGSTOP) for longer than the workers' heartbeat TTL, a worker SIGKILLed meanwhile, then SIGCONT:
     * no live process may be judged dead, and the killed one's in-progress jobs must be recovered. */
    REDIS_OUTAGE("Redis outage > TTL", Servers.SINGLE),
    /** A job that halts its worker's JVM (Runtime.halt), put on the Redis queue: it takes down workers until the
     * backend's poison-pill limit sends it to the dead set. */
    HALT_POISON("JVM-halting job", Servers.ANY),
    /** Cluster: the Kafka node leading the partition with the most lag SIGKILLed, restarted after 5 s, back in the
     * ISR of every partition before the fault ends. */
    LEADER_KILL("leader SIGKILL+restart", Servers.CLUSTER),
    /** Cluster: the Redis master SIGKILLed; Sentinel promotes the replica and the old master rejoins as its replica. */
    REDIS_FAILOVER("Redis failover", Servers.CLUSTER),
    /** Cluster: one Sentinel (in turn) restarted; the clients subscribed to it reconnect. */
    SENTINEL_RESTART("Sentinel restart", Servers.CLUSTER),
    /** Cluster: a Kafka node leading some partitions frozen (SIGSTOP) for 4 s, then SIGCONT. */
    NODE_PAUSE("Kafka node SIGSTOP/SIGCONT", Servers.CLUSTER),
    /** Cluster: a Kafka node not leading the busiest partition stopped (SIGTERM), restarted, back in the ISR. */
    FOLLOWER_RESTART("follower stop+restart", Servers.CLUSTER);

    /** The cluster drill's default schedule: every cluster fault, then a worker crash, cycling. */
    public static final List<FaultKind> CLUSTER_DEFAULT =
            List.of(LEADER_KILL, REDIS_FAILOVER, NODE_PAUSE, SENTINEL_RESTART, FOLLOWER_RESTART, WORKER_SIGKILL);

    /** Which drill's servers a fault needs. */
    enum Servers {
        SINGLE,
        CLUSTER,
        ANY
    }

    private final String label;
    private final Servers servers;

    FaultKind(String label, Servers servers) {
        this.label = label;
        this.servers = servers;
    }

    /** Whether this fault can hit the servers of the plain drill ({@code cluster} false) or of the cluster drill. */
    public boolean runsOn(boolean cluster) {
        return servers == Servers.ANY || (servers == Servers.CLUSTER) == cluster;
    }

    /** Whether it is a fault of the Kafka cluster or of Redis with Sentinel. */
    public boolean isClusterFault() {
        return servers == Servers.CLUSTER;
    }

    /** Human-readable name for the report. */
    public String label() {
        return label;
    }

    /** Parses {@code worker-sigkill} or {@code WORKER_SIGKILL}. */
    public static FaultKind parse(String s) {
        return valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    }
}
