package dev.crossfade.redis;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ShadowStore;
import dev.crossfade.api.execution.TwinMarks;
import dev.crossfade.redis.internal.Connections;
import dev.crossfade.redis.internal.Failover;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.RedisMetrics;
import dev.crossfade.redis.internal.ServerCheck;
import dev.crossfade.redis.internal.WireFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import redis.clients.jedis.UnifiedJedis;

/**
 * Entry point of the Redis backend: one pooled Jedis client shared by the producer side, any number of worker
 * runtimes and the admin reads. Sidekiq wire-compatible, so Ruby Sidekiq processes can share its queues both ways.
 *
 * <pre>{@code
 * RedisBackend redis = RedisBackend.create(RedisBackendConfig.custom()
 *         .url("rediss://app:secret@redis.internal:6380/2")
 *         .namespace("myapp")
 *         .build());
 * redis.queue().enqueue(Job.of("HardWorker", 42));
 * WorkerRuntime workers = redis.workers(core, Set.of("default", "mailers"), 10);
 * workers.start();
 * }</pre>
 *
 * Thread-safe. {@link #close()} closes the connection pool; stop worker runtimes first.
 */
public final class RedisBackend implements AutoCloseable {
    private final RedisBackendConfig config;
    private final Connections connections;
    private final UnifiedJedis redis;
    private final Keys keys;
    private final RedisMetrics metrics;
    private final RedisJobQueue queue;
    private final RedisAdmin admin;
    private final WireFormat wire;
    /** How long unclaimed runs are remembered: well past the router's time limit plus its fence. */
    private static final Duration TWIN_WINDOW = Duration.ofSeconds(60);

    private final List<RedisRunGuard> guards = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** Pollers and tallies handed out, closed before the client they use. */
    private final List<AutoCloseable> closeables = new java.util.concurrent.CopyOnWriteArrayList<>();

    private RedisBackend(RedisBackendConfig config) {
        this.config = config;
        this.connections = new Connections(config);
        this.redis = connections.client();
        this.keys = new Keys(config.namespace());
        this.metrics = new RedisMetrics(config.meterRegistry());
        this.wire = new WireFormat(redis, keys, config);
        this.queue = new RedisJobQueue(redis, keys, wire, config);
        this.admin = new RedisAdmin(redis, keys, wire);
    }

    /** A backend with {@code config}. Connections are opened lazily, so this succeeds while Redis is down. */
    public static RedisBackend create(RedisBackendConfig config) {
        return new RedisBackend(Objects.requireNonNull(config, "config"));
    }

    /** A backend with default settings at {@code url}. */
    public static RedisBackend create(String url) {
        return create(RedisBackendConfig.ofUrl(url));
    }

    public RedisBackendConfig config() {
        return config;
    }

    /** The producer side; shares this backend's connections. */
    public RedisJobQueue queue() {
        return queue;
    }

    /**
     * A new worker process over {@code queues}, not yet started.
     *
     * @param core        runs the jobs (and decides retries and death)
     * @param queues      queue names, fetched in a random order each time (Sidekiq's default)
     * @param concurrency worker threads
     */
    public RedisWorkerRuntime workers(ExecutionCore core, Collection<String> queues, int concurrency) {
        Objects.requireNonNull(core, "core");
        return new RedisWorkerRuntime(
                redis, connections, config, keys, metrics, wire, core, new ArrayList<>(queues), concurrency);
    }

    /**
     * A run-once guard for an {@link ExecutionCore} that consumes both backends during a migration, keeping its claims
     * in this Redis under this backend's namespace. It claims only jobs marked through {@link #twinMarks}; pass those
     * to the router. Close it (or this backend) to stop its background thread.
     *
     * @param lease  how long a running copy holds its claim without renewal; longer than a stalled process may pause
     * @param memory how long a finished jid and a mark are remembered; longer than the worst queue lag
     * @throws IllegalArgumentException when the lease is not positive or the memory is shorter than the lease
     */
    public RedisRunGuard runGuard(Duration lease, Duration memory) {
        RedisRunGuard guard = new RedisRunGuard(redis, keys.prefix(), lease, memory, TWIN_WINDOW, new Failover(config));
        guards.add(guard);
        return guard;
    }

    /**
     * Where the router marks jobs that may have a copy on both backends ({@code RouterConfig.twinMarks}), for the
     * run-once guards of every worker process.
     *
     * @param memory how long marks are kept: the guards' run-once memory
     */
    public TwinMarks twinMarks(Duration memory) {
        return new RedisTwinMarks(redis, RedisRunGuard.twinStream(keys.prefix()), memory, new Failover(config));
    }

    /** The hold a guarded rollout's rollback sets, keeping every router that follows it on Redis. */
    public RampHoldKey rampHoldKey() {
        return new RampHoldKey(redis, keys.prefix());
    }

    /**
     * Keeps {@code flags} on Redis while a rollback's hold is set, polling it every {@link RedisRampHold#POLL} until
     * closed (or this backend is).
     */
    public RedisRampHold followRampHold(RedisRampHold.Target flags) {
        RedisRampHold hold = new RedisRampHold(rampHoldKey(), Objects.requireNonNull(flags, "flags"));
        closeables.add(hold);
        return hold;
    }

    /**
     * Counts this process's job outcomes and routing for a guarded rollout's guardrails: an execution listener for
     * the workers, and {@code routeListener(tally::routed)} for the router. Close it (or this backend) to write the
     * last counts.
     */
    public RedisOutcomeTally outcomeTally() {
        RedisOutcomeTally tally = new RedisOutcomeTally(redis, keys.prefix());
        closeables.add(tally);
        return tally;
    }

    /**
     * The shadow comparison's shared store in this Redis, so comparisons pair copies run by different processes and
     * {@code shadow-report} reads them all.
     *
     * @param memory how long a paired jid is remembered, to tell a duplicate run from a new side
     */
    public ShadowStore shadowStore(Duration memory) {
        return new RedisShadowStore(redis, keys.prefix(), memory);
    }

    /**
     * The Sidekiq generation this backend writes for: the configured one, or the one detected from the Ruby processes
     * registered in Redis ({@link SidekiqVersion#DETECT} while none is).
     */
    public SidekiqVersion sidekiqVersion() {
        return wire.version();
    }

    /** Small reads and repairs for operators and the CLI: sizes, the dead set. */
    public RedisAdmin admin() {
        return admin;
    }

    /**
     * Problems with the server's settings, each a full sentence (today: a {@code maxmemory-policy} other than
     * {@code noeviction}). Worker runtimes log these at start, or refuse to start in strict mode.
     */
    public List<String> checkServer() {
        return ServerCheck.problems(redis, config.redactedUrl());
    }

    /** The underlying client, for tests and tools that need a raw command. */
    public UnifiedJedis redis() {
        return redis;
    }

    /** Key names under this backend's namespace, e.g. {@code key("queue:default")}. */
    public String key(String name) {
        return keys.prefix() + name;
    }

    @Override
    public void close() {
        guards.forEach(RedisRunGuard::close);
        for (AutoCloseable c : closeables) {
            try {
                c.close();
            } catch (Exception e) {
                // Best effort: the client closes below either way.
            }
        }
        redis.close();
    }
}
