package dev.crossfade.devservices;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis as production Sidekiq runs it: a master, a replica and three Sentinels, all {@code redis-server} child
 * processes on loopback ports, for failover tests and drills. Sentinel judges the master down after
 * {@code downAfter} (3 s by default, so a failover takes about five seconds) and promotes the replica.
 *
 * <pre>{@code
 * try (LocalRedisSentinel redis = LocalRedisSentinel.builder().build().start()) {
 *     String url = redis.uri().toString();          // redis+sentinel://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3/mymaster
 *     LocalRedis old = redis.killMaster();           // SIGKILL
 *     LocalRedis promoted = redis.awaitPromotion(Duration.ofSeconds(30));
 *     redis.rejoin(old, Duration.ofSeconds(30));     // back as a replica of the new master
 *     redis.restartSentinel(0);
 * }
 * }</pre>
 *
 * Not for production use; the nodes keep no data on disk.
 */
public final class LocalRedisSentinel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LocalRedisSentinel.class);
    private static final String HOST = "127.0.0.1";
    private static final Duration CALL = Duration.ofMillis(500);

    private final Builder config;
    private final List<LocalRedis> nodes = new ArrayList<>();
    private final List<LocalSentinel> sentinels = new ArrayList<>();
    private boolean started;

    private LocalRedisSentinel(Builder config) {
        this.config = config;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the master, waits for the replica to sync, then the sentinels, and waits until every sentinel knows the
     * replica and the other sentinels (so a failover can be authorised at once).
     *
     * @return this
     */
    public synchronized LocalRedisSentinel start() {
        if (started) {
            return this;
        }
        started = true;
        long begin = System.nanoTime();
        LocalRedis master = LocalRedis.builder()
                .extraArgs(config.nodeArgs.toArray(new String[0]))
                .build()
                .start();
        nodes.add(master);
        for (int i = 0; i < config.replicas; i++) {
            List<String> args = new ArrayList<>(config.nodeArgs);
            args.addAll(List.of("--replicaof", HOST, Integer.toString(master.port())));
            LocalRedis replica = LocalRedis.builder()
                    .extraArgs(args.toArray(new String[0]))
                    .build()
                    .start();
            nodes.add(replica);
            awaitReplicaLink(replica, Duration.ofSeconds(20));
        }
        Path executable = Processes.onPath("redis-server");
        if (executable == null || !Files.isExecutable(executable)) {
            throw new DevServiceException("redis-server was not found on PATH (Debian: apt-get install redis-server)");
        }
        for (int i = 0; i < 3; i++) {
            sentinels.add(new LocalSentinel(
                            executable, config.masterName, master.port(), config.downAfter, config.failoverTimeout)
                    .start());
        }
        awaitSentinelsAgree(Duration.ofSeconds(30));
        LOG.info(
                "Redis with Sentinel ready in {} ms: master {}, {} replica(s), sentinels {}",
                Duration.ofNanos(System.nanoTime() - begin).toMillis(),
                master.uri(),
                config.replicas,
                sentinelAddresses());
        return this;
    }

    /** The master's name as the sentinels know it. */
    public String masterName() {
        return config.masterName;
    }

    /** The sentinels as {@code host:port}, comma-separated. */
    public String sentinelAddresses() {
        return sentinels.stream().map(s -> HOST + ":" + s.port()).collect(Collectors.joining(","));
    }

    /** {@code redis+sentinel://host:port,host:port,host:port/<masterName>}, the URL Crossfade's Redis backend takes. */
    public URI uri() {
        return URI.create("redis+sentinel://" + sentinelAddresses() + "/" + config.masterName);
    }

    /** Every data node (master and replicas), whatever its current role. */
    public synchronized List<LocalRedis> nodes() {
        return List.copyOf(nodes);
    }

    /**
     * The node the sentinels name as master, asking each running sentinel in turn.
     *
     * @throws DevServiceException when no sentinel answers
     */
    public synchronized LocalRedis master() {
        for (LocalSentinel s : sentinels) {
            if (s.isRunning()) {
                int port = s.masterPort();
                for (LocalRedis n : nodes) {
                    if (n.port() == port) {
                        return n;
                    }
                }
            }
        }
        throw new DevServiceException("no sentinel names a master of " + config.masterName);
    }

    /** SIGKILLs the current master, as a crashed host would. @return the killed node (restart it with {@link #rejoin}) */
    public synchronized LocalRedis killMaster() {
        LocalRedis master = master();
        master.kill();
        return master;
    }

    /**
     * Waits until every running sentinel names a master other than {@code old} and that node says it is master.
     *
     * @return the promoted node
     * @throws DevServiceException when that does not happen within {@code timeout}
     */
    public LocalRedis awaitPromotion(LocalRedis old, Duration timeout) {
        long begin = System.nanoTime();
        long deadline = begin + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            synchronized (this) {
                List<Integer> named = sentinels.stream()
                        .filter(LocalSentinel::isRunning)
                        .map(LocalSentinel::masterPort)
                        .distinct()
                        .toList();
                if (named.size() == 1 && named.get(0) != old.port() && named.get(0) > 0) {
                    for (LocalRedis n : nodes) {
                        if (n.port() == named.get(0) && "master".equals(role(n))) {
                            LOG.info(
                                    "Sentinel promoted {} in {} ms",
                                    n.uri(),
                                    Duration.ofNanos(System.nanoTime() - begin).toMillis());
                            return n;
                        }
                    }
                }
            }
            pause();
        }
        throw new DevServiceException("Sentinel did not promote a new master within " + timeout + "\n"
                + Processes.tail(sentinels.get(0).logFile(), 30));
    }

    /**
     * Starts a killed node again as a replica of the current master and waits until it is in sync (it comes back
     * empty, as a host that lost its disk would).
     */
    public LocalRedis rejoin(LocalRedis node, Duration timeout) {
        // Straight into the replica role Sentinel would give it on its next look (up to 10 s later): an empty node
        // answering as a master meanwhile can turn the promoted node into its replica, emptying it.
        node.startAsReplicaOf(master());
        try {
            awaitReplicaLink(node, timeout);
        } catch (DevServiceException e) {
            throw new DevServiceException(
                    e.getMessage() + "\n--- tail of " + sentinels.get(0) + "'s log ---\n"
                            + Processes.tail(sentinels.get(0).logFile(), 30),
                    e);
        }
        return node;
    }

    /** Restarts sentinel {@code index} (0..2) gracefully; it keeps what it learnt in its rewritten configuration. */
    public synchronized void restartSentinel(int index) {
        sentinels.get(index).restart();
    }

    /** SIGKILLs sentinel {@code index} (0..2). */
    public synchronized void killSentinel(int index) {
        sentinels.get(index).kill();
    }

    /** Starts sentinel {@code index} again after {@link #killSentinel}. */
    public synchronized void startSentinel(int index) {
        sentinels.get(index).start();
    }

    private void awaitReplicaLink(LocalRedis replica, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String info = "";
        while (System.nanoTime() < deadline) {
            info = info(replica);
            if (info.contains("role:slave") && info.contains("master_link_status:up")) {
                return;
            }
            pause();
        }
        throw new DevServiceException(
                "replica " + replica.uri() + " did not sync within " + timeout + "; INFO replication:\n" + info);
    }

    private void awaitSentinelsAgree(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            boolean all = true;
            for (LocalSentinel s : sentinels) {
                try {
                    Object reply = RespClient.call(HOST, s.port(), CALL, "SENTINEL", "master", config.masterName);
                    List<?> kv = (List<?>) reply;
                    int replicas = -1;
                    int others = -1;
                    for (int i = 0; i + 1 < kv.size(); i += 2) {
                        if ("num-slaves".equals(kv.get(i))) {
                            replicas = Integer.parseInt(String.valueOf(kv.get(i + 1)));
                        } else if ("num-other-sentinels".equals(kv.get(i))) {
                            others = Integer.parseInt(String.valueOf(kv.get(i + 1)));
                        }
                    }
                    last = s + ": " + replicas + " replica(s), " + others + " other sentinel(s)";
                    all &= replicas >= config.replicas && others >= sentinels.size() - 1;
                } catch (IOException | RuntimeException e) {
                    last = s + ": " + e;
                    all = false;
                }
            }
            if (all) {
                return;
            }
            pause();
        }
        throw new DevServiceException(
                "the sentinels did not discover each other within " + timeout + " (" + last + ")");
    }

    private static String info(LocalRedis node) {
        try {
            return String.valueOf(RespClient.call(HOST, node.port(), CALL, "INFO", "replication"));
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static String role(LocalRedis node) {
        try {
            Object reply = RespClient.call(HOST, node.port(), CALL, "ROLE");
            return reply instanceof List<?> l && !l.isEmpty() ? String.valueOf(l.get(0)) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted while waiting for Sentinel", e);
        }
    }

    /** Stops the sentinels first (so they start no failover), then the nodes; deletes their directories. */
    @Override
    public synchronized void close() {
        sentinels.forEach(LocalSentinel::close);
        nodes.forEach(LocalRedis::close);
    }

    @Override
    public synchronized String toString() {
        return "LocalRedisSentinel[" + (started ? uri() : "not started") + "]";
    }

    /** Options; defaults suit tests. */
    public static final class Builder {
        private String masterName = "mymaster";
        private int replicas = 1;
        // Three of Sentinel's one-second pings: with one, a node just promoted on a loaded 2-core machine could miss a
        // single ping and be failed over again, to a node that had restarted empty and not yet synced.
        private Duration downAfter = Duration.ofSeconds(3);
        private Duration failoverTimeout = Duration.ofSeconds(5);
        private List<String> nodeArgs = List.of();

        private Builder() {}

        public Builder masterName(String name) {
            this.masterName = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Replicas of the master (default 1, at least 1). */
        public Builder replicas(int replicas) {
            if (replicas < 1) {
                throw new IllegalArgumentException("at least one replica, got " + replicas);
            }
            this.replicas = replicas;
            return this;
        }

        /** Sentinel's {@code down-after-milliseconds}: how long the master may not answer before a failover. */
        public Builder downAfter(Duration downAfter) {
            this.downAfter = Objects.requireNonNull(downAfter, "downAfter");
            return this;
        }

        /** Sentinel's {@code failover-timeout}. */
        public Builder failoverTimeout(Duration failoverTimeout) {
            this.failoverTimeout = Objects.requireNonNull(failoverTimeout, "failoverTimeout");
            return this;
        }

        /** More {@code redis-server} arguments for every data node, e.g. {@code "--maxmemory-policy", "noeviction"}. */
        public Builder nodeArgs(String... args) {
            this.nodeArgs = List.of(args);
            return this;
        }

        public LocalRedisSentinel build() {
            return new LocalRedisSentinel(this);
        }
    }
}
