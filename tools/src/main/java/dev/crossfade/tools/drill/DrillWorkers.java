package dev.crossfade.tools.drill;

import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import dev.crossfade.redis.RedisBackend;
import java.net.URI;
import java.util.List;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;

/**
 * The drill's workers, registered only in the drill's child worker processes: the drill writes a tiny jar whose
 * {@code META-INF/services} entry names this class and starts {@code crossfade work --jar} with it, so no ordinary
 * {@code crossfade work} ever runs them.
 *
 * <ul>
 *   <li>{@value #LEDGER}: what {@code crossfade.Ledger} does (HINCRBY of the jid in {@code <ns>crossfade:ledger}) plus,
 *   in the same Lua call, one line per run in {@code <ns>crossfade:drill:runs} (jid, backend, pid, attempt, time), so
 *   each duplicate run can be traced to the process and the moment that caused it;</li>
 *   <li>{@value #SLOW}: sleeps, then records its run as {@value #LEDGER} does (so a run cut short by a kill leaves no
 *   trace and a second, complete run is a duplicate);</li>
 *   <li>{@value #POISON}: always throws;</li>
 *   <li>{@value #HALT}: halts its JVM, as an OOM kill or a native crash in a job would.</li>
 * </ul>
 * Redis URL and namespace come from {@value #REDIS_URL_ENV} and {@value #NAMESPACE_ENV}. With {@value #WAIT_ENV} set
 * (the cluster drill, whose Redis fails over), each run's record is followed by {@code WAIT} for that many replicas,
 * as the backend's own writes are with {@code redis.wait-replicas}; a record not replicated in time fails the run, which
 * is retried, so a failover cannot erase a run the accounting relies on.
 */
public final class DrillWorkers implements WorkerProvider {
    /** Counts the run in the ledger and logs it. */
    public static final String LEDGER = "drill.Ledger";
    /** Always fails. */
    public static final String POISON = "drill.Poison";
    /** Sleeps {@code args[0]} ms, then does what {@value #LEDGER} does: a job still in flight after a fault. */
    public static final String SLOW = "drill.Slow";
    /** Kills the worker process running it. */
    public static final String HALT = "drill.Halt";

    static final String REDIS_URL_ENV = "CROSSFADE_DRILL_REDIS_URL";
    static final String NAMESPACE_ENV = "CROSSFADE_DRILL_NAMESPACE";
    static final String WAIT_ENV = "CROSSFADE_DRILL_WAIT_REPLICAS";
    private static final long WAIT_MILLIS = 1000;

    private static final String RECORD =
            "redis.call('HINCRBY', KEYS[1], ARGV[1], 1) " + "redis.call('RPUSH', KEYS[2], ARGV[2]) return 1";

    /** Key of the run log: one line per run of {@value #LEDGER}. */
    static String runsKey(String namespace) {
        return namespace + "crossfade:drill:runs";
    }

    @Override
    public void register(WorkerRegistry.Builder registry) {
        String url = System.getenv(REDIS_URL_ENV);
        String ns = System.getenv().getOrDefault(NAMESPACE_ENV, "");
        if (url == null) {
            throw new IllegalStateException(
                    REDIS_URL_ENV + " is not set: the drill workers run only in drill children");
        }
        int waitReplicas = Integer.parseInt(System.getenv().getOrDefault(WAIT_ENV, "0"));
        // Lazily connected; shares nothing with the backend's pool so a stuck ledger write cannot starve fetching. A
        // redis+sentinel:// URL gets the backend's Sentinel-following client, which moves to the promoted master.
        UnifiedJedis redis = url.startsWith("redis+sentinel:") || url.startsWith("rediss+sentinel:")
                ? RedisBackend.create(url).redis()
                : RedisClient.create(URI.create(url));
        long pid = ProcessHandle.current().pid();
        List<String> keys = List.of(BuiltInWorkers.ledgerKey(ns), runsKey(ns));
        WorkerRegistry.Builder r =
                registry.register(LEDGER, (args, ctx) -> record(redis, keys, waitReplicas, ctx.jid(), line(ctx, pid)));
        r.register(SLOW, (args, ctx) -> {
            Thread.sleep(args.get(0, Long.class));
            record(redis, keys, waitReplicas, ctx.jid(), line(ctx, pid));
        });
        r.register(
                        POISON,
                        (args, ctx) -> {
                            throw new IllegalStateException("drill poison job " + ctx.jid() + " always fails");
                        },
                        WorkerOptions.custom().maxRetries(1).build())
                .register(HALT, (args, ctx) -> Runtime.getRuntime().halt(137));
    }

    private static String line(dev.crossfade.api.worker.JobContext ctx, long pid) {
        return ctx.jid() + " " + ctx.backend().id() + " " + pid + " " + ctx.attempt() + " "
                + System.currentTimeMillis();
    }

    /** The ledger count and the run log line in one script; then WAIT when asked. */
    private static void record(UnifiedJedis redis, List<String> keys, int waitReplicas, String jid, String line) {
        if (waitReplicas == 0) {
            redis.eval(RECORD, keys, List.of(jid, line));
            return;
        }
        try (AbstractPipeline p = redis.pipelined()) {
            Response<Object> written = p.eval(RECORD, keys, List.of(jid, line));
            Response<Long> waited = p instanceof Pipeline one
                    ? one.waitReplicas(waitReplicas, WAIT_MILLIS)
                    : p.waitReplicas("", waitReplicas, WAIT_MILLIS);
            p.sync();
            written.get();
            if (waited.get() < waitReplicas) {
                throw new IllegalStateException("the drill's record of " + jid + " reached " + waited.get()
                        + " replica(s) of " + waitReplicas + "; a failover could erase it");
            }
        }
    }
}
