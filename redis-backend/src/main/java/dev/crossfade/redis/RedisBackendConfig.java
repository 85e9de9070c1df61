package dev.crossfade.redis;

import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.redis.internal.RedisUrl;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import redis.clients.jedis.SslOptions;

/**
 * Immutable settings of a {@link RedisBackend}; build with {@link #custom()}. This table is the one place every
 * setting is documented.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><th>setting</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>url</td><td>{@code redis://localhost:6379}</td><td>Jedis URI: {@code redis://[user:password@]host:port[/db]};
 *   {@code rediss://} for TLS. ACL user, password and database number come from the URI. Behind Sentinel:
 *   {@code redis+sentinel://[user:password@]host:port,host:port/<master name>[/db]} ({@code rediss+sentinel://} for
 *   TLS to the master): Jedis asks the sentinels for the master and follows their {@code +switch-master} after a
 *   failover; user and password are the master's, the sentinels are asked without either.</td></tr>
 *   <tr><td>sslOptions</td><td>none: the JVM's default truststore</td><td>Jedis {@link SslOptions} for
 *   {@code rediss://}: a truststore for a private CA, a client keystore for mutual TLS, the verify mode</td></tr>
 *   <tr><td>waitReplicas</td><td>0 (off)</td><td>after each enqueue and each outcome write, {@code WAIT} until this
 *   many replicas have the write. Redis replicates asynchronously, so without it a failover can drop writes the
 *   master acknowledged; with it an enqueue returns only once the write is on a replica (else it throws, and may be
 *   repeated), and an outcome write is retried until it is (the job stays in progress meanwhile). The run-once state
 *   (twin marks, claims, their outcomes) waits too; see {@link RedisRunGuard}. With fewer replicas connected than this,
 *   enqueues fail, outcomes wait and marked jobs are deferred: use at most the replicas you run minus one</td></tr>
 *   <tr><td>waitTimeout</td><td>1 s</td><td>how long one {@code WAIT} waits for the replicas; below
 *   socketTimeout</td></tr>
 *   <tr><td>namespace</td><td>empty (Sidekiq's plain key names)</td><td>key prefix, as the redis-namespace gem does:
 *   {@code "myapp"} makes {@code myapp:queue:default}; a trailing {@code :} is added when missing</td></tr>
 *   <tr><td>codec</td><td>{@link JobCodec#defaults()} (1 MiB limit)</td><td>encodes jobs at enqueue; its payload limit
 *   rejects oversized jobs before anything is sent. Its timestamp format applies only while sidekiqVersion is
 *   {@code DETECT} and no Ruby process is registered</td></tr>
 *   <tr><td>sidekiqVersion</td><td>{@link SidekiqVersion#DETECT}</td><td>the Ruby Sidekiq generation Crossfade writes
 *   for: 8 writes {@code created_at}, {@code enqueued_at}, {@code failed_at} and {@code retried_at} as integer
 *   milliseconds, 6 and 7 as float seconds (scores stay float seconds). DETECT looks at the Ruby processes registered
 *   in {@code processes} (the oldest generation among them wins, so every one reads what Java writes), logs what it
 *   found once, and looks again every minute while none is registered. 6 also skips Sidekiq 7/8's execution metrics
 *   ({@code j|…}, {@code h|…} keys), which Sidekiq 6 never reads</td></tr>
 *   <tr><td>connectTimeout</td><td>2 s</td><td>TCP connect timeout</td></tr>
 *   <tr><td>socketTimeout</td><td>3 s</td><td>read timeout of a command; must exceed fetchBlockTimeout</td></tr>
 *   <tr><td>poolSize</td><td>automatic: 8, plus concurrency + 5 for each running worker runtime</td><td>connections
 *   the pool shared by the job queue, admin reads and every worker runtime of the backend may open. Automatic sizing
 *   grows the pool when a runtime starts and shrinks it when it stops: a runtime may hold one connection per worker
 *   thread (the run-once guard, workers using {@link RedisBackend#redis()}) plus its fetcher, acknowledger, heartbeat,
 *   poller and shutdown; the 8 serve producers, the router and admin reads. A fixed size (at least 4) is used as is;
 *   a runtime that could need more logs a warning when it starts. 0 means automatic</td></tr>
 *   <tr><td>fetchBatchSize</td><td>100</td><td>most jobs one fetch call moves to the in-progress list</td></tr>
 *   <tr><td>fetchBlockTimeout</td><td>1 s</td><td>how long an idle fetcher blocks in {@code BLMOVE} waiting for a
 *   job; also bounds how long {@code stop} waits for the fetcher</td></tr>
 *   <tr><td>pollInterval</td><td>5 s</td><td>average interval of the scheduled/retry poller; each wait is randomised
 *   to 0.5–1.5× as in Sidekiq so processes do not poll in lockstep</td></tr>
 *   <tr><td>heartbeatInterval</td><td>10 s</td><td>how often a worker process refreshes its Sidekiq process entry
 *   (which expires after 60 s) and its liveness key, flushes stats and looks for dead processes to recover; below
 *   60 s</td></tr>
 *   <tr><td>recoveryTimeout</td><td>60 s (Sidekiq's process TTL)</td><td>the heartbeat TTL. Each beat sets a
 *   liveness key expiring after this; a worker process whose key has expired and whose last beat (Redis server
 *   time) is older than this is dead, and its in-progress jobs are pushed back to their queues. A process that could
 *   not beat for three quarters of it fetches and starts no job until it beats again; after (re)connecting, a process
 *   beats this long before it judges others, so an outage longer than the TTL does not make live peers look dead;
 *   in-progress lists whose owner is gone from the registry are swept this often. At least twice
 *   heartbeatInterval</td></tr>
 *   <tr><td>maxRecoveries</td><td>3</td><td>a job found in-progress in dead processes this many times is a poison
 *   pill and goes to the dead set instead of back to its queue</td></tr>
 *   <tr><td>shutdownTimeout</td><td>25 s</td><td>what {@code close()} of a worker runtime waits for running jobs</td></tr>
 *   <tr><td>deadMaxJobs</td><td>10,000</td><td>dead set size limit (oldest trimmed), as Sidekiq's
 *   {@code dead_max_jobs}</td></tr>
 *   <tr><td>deadTimeout</td><td>180 days</td><td>dead entries older than this are trimmed, as Sidekiq's
 *   {@code dead_timeout_in_seconds}</td></tr>
 *   <tr><td>strictEvictionPolicy</td><td>false</td><td>when true, a worker runtime refuses to start if Redis's
 *   {@code maxmemory-policy} is not {@code noeviction}; when false it only logs a warning</td></tr>
 *   <tr><td>maxReconnectBackoff</td><td>5 s</td><td>longest wait between attempts while Redis is unreachable
 *   (fetching, acknowledging, heartbeats); attempts start at 50 ms and double</td></tr>
 *   <tr><td>tag</td><td>empty</td><td>Sidekiq process tag shown in the Web UI</td></tr>
 *   <tr><td>meterRegistry</td><td>none</td><td>Micrometer registry for jobs processed/failed/retried/dead, fetch
 *   latency, recoveries and queue size gauges</td></tr>
 * </table>
 */
public final class RedisBackendConfig {
    private final URI url;
    private final SslOptions sslOptions;
    private final int waitReplicas;
    private final Duration waitTimeout;
    private final String namespace;
    private final JobCodec codec;
    private final SidekiqVersion sidekiqVersion;
    private final Duration connectTimeout;
    private final Duration socketTimeout;
    private final int poolSize;
    private final int fetchBatchSize;
    private final Duration fetchBlockTimeout;
    private final Duration pollInterval;
    private final Duration heartbeatInterval;
    private final Duration recoveryTimeout;
    private final int maxRecoveries;
    private final Duration shutdownTimeout;
    private final int deadMaxJobs;
    private final Duration deadTimeout;
    private final boolean strictEvictionPolicy;
    private final Duration maxReconnectBackoff;
    private final String tag;
    private final MeterRegistry meterRegistry;

    private RedisBackendConfig(Builder b) {
        this.url = b.url;
        this.sslOptions = b.sslOptions;
        this.waitReplicas = b.waitReplicas;
        this.waitTimeout = b.waitTimeout;
        this.namespace = b.namespace;
        this.codec = b.codec;
        this.sidekiqVersion = b.sidekiqVersion;
        this.connectTimeout = b.connectTimeout;
        this.socketTimeout = b.socketTimeout;
        this.poolSize = b.poolSize;
        this.fetchBatchSize = b.fetchBatchSize;
        this.fetchBlockTimeout = b.fetchBlockTimeout;
        this.pollInterval = b.pollInterval;
        this.heartbeatInterval = b.heartbeatInterval;
        this.recoveryTimeout = b.recoveryTimeout;
        this.maxRecoveries = b.maxRecoveries;
        this.shutdownTimeout = b.shutdownTimeout;
        this.deadMaxJobs = b.deadMaxJobs;
        this.deadTimeout = b.deadTimeout;
        this.strictEvictionPolicy = b.strictEvictionPolicy;
        this.maxReconnectBackoff = b.maxReconnectBackoff;
        this.tag = b.tag;
        this.meterRegistry = b.meterRegistry;
    }

    /** A builder with every default from the table above. */
    public static Builder custom() {
        return new Builder();
    }

    /** The defaults, pointed at {@code url}. */
    public static RedisBackendConfig ofUrl(String url) {
        return custom().url(url).build();
    }

    /** A builder pre-filled with this configuration, for deriving a variant. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.url = url;
        b.sslOptions = sslOptions;
        b.waitReplicas = waitReplicas;
        b.waitTimeout = waitTimeout;
        b.namespace = namespace;
        b.codec = codec;
        b.sidekiqVersion = sidekiqVersion;
        b.connectTimeout = connectTimeout;
        b.socketTimeout = socketTimeout;
        b.poolSize = poolSize;
        b.fetchBatchSize = fetchBatchSize;
        b.fetchBlockTimeout = fetchBlockTimeout;
        b.pollInterval = pollInterval;
        b.heartbeatInterval = heartbeatInterval;
        b.recoveryTimeout = recoveryTimeout;
        b.maxRecoveries = maxRecoveries;
        b.shutdownTimeout = shutdownTimeout;
        b.deadMaxJobs = deadMaxJobs;
        b.deadTimeout = deadTimeout;
        b.strictEvictionPolicy = strictEvictionPolicy;
        b.maxReconnectBackoff = maxReconnectBackoff;
        b.tag = tag;
        b.meterRegistry = meterRegistry;
        return b;
    }

    public URI url() {
        return url;
    }

    /** The URL with any password replaced by {@code ***}, for log and exception messages. */
    public String redactedUrl() {
        // A Sentinel URL's several hosts leave URI without user info: take it from the raw authority.
        String authority = url.getRawAuthority();
        int at = authority == null ? -1 : authority.lastIndexOf('@');
        String userInfo =
                url.getRawUserInfo() != null ? url.getRawUserInfo() : at < 0 ? null : authority.substring(0, at);
        if (userInfo == null) {
            return url.toString();
        }
        int colon = userInfo.indexOf(':');
        String shown = colon >= 0 ? userInfo.substring(0, colon) + ":***" : "***";
        return url.toString().replace(userInfo + "@", shown + "@");
    }

    /** TLS options, or null for the JVM defaults. */
    public SslOptions sslOptions() {
        return sslOptions;
    }

    /** Replicas each enqueue and outcome write waits for ({@code WAIT}); 0 when off. */
    public int waitReplicas() {
        return waitReplicas;
    }

    public Duration waitTimeout() {
        return waitTimeout;
    }

    /** The key prefix, empty or ending in {@code :}. */
    public String namespace() {
        return namespace;
    }

    public JobCodec codec() {
        return codec;
    }

    /** The Sidekiq generation written for; {@link SidekiqVersion#DETECT} to follow the Ruby processes. */
    public SidekiqVersion sidekiqVersion() {
        return sidekiqVersion;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration socketTimeout() {
        return socketTimeout;
    }

    /** The fixed pool size, or 0 when it is sized automatically. */
    public int poolSize() {
        return poolSize;
    }

    public int fetchBatchSize() {
        return fetchBatchSize;
    }

    public Duration fetchBlockTimeout() {
        return fetchBlockTimeout;
    }

    public Duration pollInterval() {
        return pollInterval;
    }

    public Duration heartbeatInterval() {
        return heartbeatInterval;
    }

    public Duration recoveryTimeout() {
        return recoveryTimeout;
    }

    public int maxRecoveries() {
        return maxRecoveries;
    }

    public Duration shutdownTimeout() {
        return shutdownTimeout;
    }

    public int deadMaxJobs() {
        return deadMaxJobs;
    }

    public Duration deadTimeout() {
        return deadTimeout;
    }

    public boolean strictEvictionPolicy() {
        return strictEvictionPolicy;
    }

    public Duration maxReconnectBackoff() {
        return maxReconnectBackoff;
    }

    public String tag() {
        return tag;
    }

    /** The registry, or null when metrics are off. */
    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    @Override
    public String toString() {
        return "RedisBackendConfig{url=" + redactedUrl() + ", namespace='" + namespace + "', sidekiqVersion="
                + sidekiqVersion + "}";
    }

    /** Builder for {@link RedisBackendConfig}; see the class javadoc for what each setting means. */
    public static final class Builder {
        private URI url = URI.create("redis://localhost:6379");
        private SslOptions sslOptions;
        private int waitReplicas;
        private Duration waitTimeout = Duration.ofSeconds(1);
        private String namespace = "";
        private JobCodec codec = JobCodec.defaults();
        private SidekiqVersion sidekiqVersion = SidekiqVersion.DETECT;
        private Duration connectTimeout = Duration.ofSeconds(2);
        private Duration socketTimeout = Duration.ofSeconds(3);
        private int poolSize;
        private int fetchBatchSize = 100;
        private Duration fetchBlockTimeout = Duration.ofSeconds(1);
        private Duration pollInterval = Duration.ofSeconds(5);
        private Duration heartbeatInterval = Duration.ofSeconds(10);
        private Duration recoveryTimeout = Duration.ofSeconds(60);
        private int maxRecoveries = 3;
        private Duration shutdownTimeout = Duration.ofSeconds(25);
        private int deadMaxJobs = 10_000;
        private Duration deadTimeout = Duration.ofDays(180);
        private boolean strictEvictionPolicy;
        private Duration maxReconnectBackoff = Duration.ofSeconds(5);
        private String tag = "";
        private MeterRegistry meterRegistry;

        private Builder() {}

        public Builder url(String url) {
            return url(URI.create(Objects.requireNonNull(url, "url")));
        }

        public Builder url(URI url) {
            Objects.requireNonNull(url, "url");
            String scheme = url.getScheme();
            if (RedisUrl.isSentinel(url)) {
                RedisUrl.parse(url);
            } else if (!"redis".equals(scheme) && !"rediss".equals(scheme)) {
                throw new IllegalArgumentException("Redis URL must start with redis://, rediss:// (TLS) or "
                        + "redis+sentinel://, got " + url.getScheme() + "://…");
            }
            this.url = url;
            return this;
        }

        public Builder sslOptions(SslOptions sslOptions) {
            this.sslOptions = sslOptions;
            return this;
        }

        public Builder waitReplicas(int waitReplicas) {
            if (waitReplicas < 0) {
                throw new IllegalArgumentException("waitReplicas must be 0 (off) or more, got " + waitReplicas);
            }
            this.waitReplicas = waitReplicas;
            return this;
        }

        public Builder waitTimeout(Duration waitTimeout) {
            this.waitTimeout = positive(waitTimeout, "waitTimeout");
            return this;
        }

        public Builder namespace(String namespace) {
            Objects.requireNonNull(namespace, "namespace");
            this.namespace = namespace.isEmpty() || namespace.endsWith(":") ? namespace : namespace + ":";
            return this;
        }

        public Builder codec(JobCodec codec) {
            this.codec = Objects.requireNonNull(codec, "codec");
            return this;
        }

        public Builder sidekiqVersion(SidekiqVersion sidekiqVersion) {
            this.sidekiqVersion = Objects.requireNonNull(sidekiqVersion, "sidekiqVersion");
            return this;
        }

        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = positive(connectTimeout, "connectTimeout");
            return this;
        }

        public Builder socketTimeout(Duration socketTimeout) {
            this.socketTimeout = positive(socketTimeout, "socketTimeout");
            return this;
        }

        public Builder poolSize(int poolSize) {
            if (poolSize != 0 && poolSize < 4) {
                throw new IllegalArgumentException("poolSize must be 0 (automatic) or at least 4, got " + poolSize);
            }
            this.poolSize = poolSize;
            return this;
        }

        public Builder fetchBatchSize(int fetchBatchSize) {
            if (fetchBatchSize < 1) {
                throw new IllegalArgumentException("fetchBatchSize must be at least 1, got " + fetchBatchSize);
            }
            this.fetchBatchSize = fetchBatchSize;
            return this;
        }

        public Builder fetchBlockTimeout(Duration fetchBlockTimeout) {
            this.fetchBlockTimeout = positive(fetchBlockTimeout, "fetchBlockTimeout");
            return this;
        }

        public Builder pollInterval(Duration pollInterval) {
            this.pollInterval = positive(pollInterval, "pollInterval");
            return this;
        }

        public Builder heartbeatInterval(Duration heartbeatInterval) {
            this.heartbeatInterval = positive(heartbeatInterval, "heartbeatInterval");
            return this;
        }

        public Builder recoveryTimeout(Duration recoveryTimeout) {
            this.recoveryTimeout = positive(recoveryTimeout, "recoveryTimeout");
            return this;
        }

        /**
         * The heartbeat TTL as {@code redis.heartbeat-ttl} gives it: {@link #recoveryTimeout} of {@code ttl}, and a
         * {@link #heartbeatInterval} of a sixth of it (Sidekiq's 10 s beat to its 60 s TTL), never rarer than 10 s.
         */
        public Builder heartbeatTtl(Duration ttl) {
            recoveryTimeout(ttl);
            Duration sixth = ttl.dividedBy(6);
            Duration most = Duration.ofSeconds(10);
            return heartbeatInterval(sixth.compareTo(most) < 0 ? sixth : most);
        }

        public Builder maxRecoveries(int maxRecoveries) {
            if (maxRecoveries < 1) {
                throw new IllegalArgumentException("maxRecoveries must be at least 1, got " + maxRecoveries);
            }
            this.maxRecoveries = maxRecoveries;
            return this;
        }

        public Builder shutdownTimeout(Duration shutdownTimeout) {
            this.shutdownTimeout = Objects.requireNonNull(shutdownTimeout, "shutdownTimeout");
            return this;
        }

        public Builder deadMaxJobs(int deadMaxJobs) {
            if (deadMaxJobs < 1) {
                throw new IllegalArgumentException("deadMaxJobs must be at least 1, got " + deadMaxJobs);
            }
            this.deadMaxJobs = deadMaxJobs;
            return this;
        }

        public Builder deadTimeout(Duration deadTimeout) {
            this.deadTimeout = positive(deadTimeout, "deadTimeout");
            return this;
        }

        public Builder strictEvictionPolicy(boolean strict) {
            this.strictEvictionPolicy = strict;
            return this;
        }

        public Builder maxReconnectBackoff(Duration maxReconnectBackoff) {
            this.maxReconnectBackoff = positive(maxReconnectBackoff, "maxReconnectBackoff");
            return this;
        }

        public Builder tag(String tag) {
            this.tag = Objects.requireNonNull(tag, "tag");
            return this;
        }

        public Builder meterRegistry(MeterRegistry meterRegistry) {
            this.meterRegistry = meterRegistry;
            return this;
        }

        /**
         * @throws IllegalArgumentException when settings contradict each other (naming both)
         */
        public RedisBackendConfig build() {
            if (heartbeatInterval.compareTo(Duration.ofSeconds(60)) >= 0) {
                throw new IllegalArgumentException("heartbeatInterval must be below 60 s (the Sidekiq process entry "
                        + "expires after 60 s), got " + heartbeatInterval);
            }
            if (recoveryTimeout.compareTo(heartbeatInterval.multipliedBy(2)) < 0) {
                throw new IllegalArgumentException("recoveryTimeout (" + recoveryTimeout + ") must be at least twice "
                        + "heartbeatInterval (" + heartbeatInterval + "), or live processes would be recovered");
            }
            if (socketTimeout.compareTo(fetchBlockTimeout) <= 0) {
                throw new IllegalArgumentException("socketTimeout (" + socketTimeout + ") must exceed "
                        + "fetchBlockTimeout (" + fetchBlockTimeout + "), or idle fetches would time out");
            }
            if (waitReplicas > 0 && waitTimeout.compareTo(socketTimeout) >= 0) {
                throw new IllegalArgumentException("waitTimeout (" + waitTimeout + ") must be below socketTimeout ("
                        + socketTimeout + "), or a WAIT for a missing replica would look like a hung server");
            }
            return new RedisBackendConfig(this);
        }

        private static Duration positive(Duration d, String name) {
            Objects.requireNonNull(d, name);
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException(name + " must be positive, got " + d);
            }
            return d;
        }
    }
}
