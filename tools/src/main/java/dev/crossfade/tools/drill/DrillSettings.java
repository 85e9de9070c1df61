package dev.crossfade.tools.drill;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What one drill run does. Immutable; build with {@link #custom()}. Defaults are the long run: 100,000 jobs at 400 a
 * second, 24 faults over every kind of the plain drill except the JVM-halting job, 3 worker processes. With
 * {@link Builder#cluster(boolean)} the kinds default to {@link FaultKind#CLUSTER_DEFAULT}.
 */
public final class DrillSettings {
    private final int jobs;
    private final int faults;
    private final int workers;
    private final int rate;
    private final List<FaultKind> kinds;
    private final int concurrency;
    private final int producerThreads;
    private final int partitions;
    private final Duration drainTimeout;
    private final long seed;
    private final boolean cluster;

    private DrillSettings(Builder b, List<FaultKind> kinds) {
        this.jobs = b.jobs;
        this.faults = b.faults;
        this.workers = b.workers;
        this.rate = b.rate;
        this.kinds = List.copyOf(kinds);
        this.concurrency = b.concurrency;
        this.producerThreads = b.producerThreads;
        this.partitions = b.partitions;
        this.drainTimeout = b.drainTimeout;
        this.seed = b.seed;
        this.cluster = b.cluster;
    }

    public static Builder custom() {
        return new Builder();
    }

    /** Jobs the producer enqueues (not counting the poison jobs the faults add). */
    public int jobs() {
        return jobs;
    }

    /** Faults injected, spread evenly over the production time, cycling through {@link #kinds()}. */
    public int faults() {
        return faults;
    }

    /** Worker processes kept running (each consumes Redis and Kafka). */
    public int workers() {
        return workers;
    }

    /** Jobs enqueued per second. */
    public int rate() {
        return rate;
    }

    /** Fault kinds, in schedule order. */
    public List<FaultKind> kinds() {
        return kinds;
    }

    /** Worker threads per backend in each worker process. */
    public int concurrency() {
        return concurrency;
    }

    /** Threads enqueueing concurrently, as an application's request threads would. */
    public int producerThreads() {
        return producerThreads;
    }

    /** Partitions of the Kafka topics. */
    public int partitions() {
        return partitions;
    }

    /** Longest wait after the last enqueue for every job to run or die. */
    public Duration drainTimeout() {
        return drainTimeout;
    }

    /** Seed of the random choices (percentages, which worker dies). */
    public long seed() {
        return seed;
    }

    /**
     * Whether the drill runs on a three-node Kafka cluster (replication 3, min.insync.replicas 2) and Redis behind
     * Sentinel (a master, a replica, three sentinels; {@code redis.wait-replicas 1}) instead of one broker and one Redis.
     */
    public boolean cluster() {
        return cluster;
    }

    /** Builder of {@link DrillSettings}. */
    public static final class Builder {
        private int jobs = 100_000;
        private int faults = 24;
        private int workers = 3;
        private int rate = 400;
        /** Null: the default of the mode, chosen in {@link #build()}. */
        private List<FaultKind> kinds;

        private int concurrency = 8;
        private int producerThreads = 8;
        private int partitions = 6;
        private Duration drainTimeout = Duration.ofMinutes(5);
        private long seed = 42;
        private boolean cluster;

        private Builder() {}

        /** See {@link DrillSettings#cluster()}. */
        public Builder cluster(boolean cluster) {
            this.cluster = cluster;
            return this;
        }

        public Builder jobs(int jobs) {
            this.jobs = positive(jobs, "jobs");
            return this;
        }

        public Builder faults(int faults) {
            if (faults < 0) {
                throw new IllegalArgumentException("faults must be >= 0, got " + faults);
            }
            this.faults = faults;
            return this;
        }

        public Builder workers(int workers) {
            this.workers = positive(workers, "workers");
            return this;
        }

        public Builder rate(int rate) {
            this.rate = positive(rate, "rate");
            return this;
        }

        /** The fault kinds to cycle through, in this order (at least one). */
        public Builder kinds(List<FaultKind> kinds) {
            if (kinds.isEmpty()) {
                throw new IllegalArgumentException("at least one fault kind is needed");
            }
            this.kinds = new ArrayList<>(
                    Set.copyOf(kinds).size() == kinds.size()
                            ? kinds
                            : new ArrayList<>(new java.util.LinkedHashSet<>(kinds)));
            return this;
        }

        public Builder concurrency(int concurrency) {
            this.concurrency = positive(concurrency, "concurrency");
            return this;
        }

        public Builder producerThreads(int threads) {
            this.producerThreads = positive(threads, "producerThreads");
            return this;
        }

        public Builder partitions(int partitions) {
            this.partitions = positive(partitions, "partitions");
            return this;
        }

        public Builder drainTimeout(Duration timeout) {
            this.drainTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * @throws IllegalArgumentException naming a chosen kind that the mode's servers cannot take (e.g. a Redis
         *     restart on the cluster drill, whose Redis fails over instead)
         */
        public DrillSettings build() {
            List<FaultKind> chosen = kinds;
            if (chosen == null) {
                chosen = cluster
                        ? FaultKind.CLUSTER_DEFAULT
                        : EnumSet.complementOf(EnumSet.of(FaultKind.HALT_POISON)).stream()
                                .filter(k -> k.runsOn(false))
                                .toList();
            }
            for (FaultKind k : chosen) {
                if (!k.runsOn(cluster)) {
                    throw new IllegalArgumentException("fault kind "
                            + k.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-')
                            + (cluster ? " needs the plain drill (without --cluster)" : " needs --cluster"));
                }
            }
            return new DrillSettings(this, chosen);
        }

        private static int positive(int v, String what) {
            if (v < 1) {
                throw new IllegalArgumentException(what + " must be >= 1, got " + v);
            }
            return v;
        }
    }
}
