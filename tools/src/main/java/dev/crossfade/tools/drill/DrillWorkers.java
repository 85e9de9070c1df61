package dev.crossfade.tools.drill;

import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import java.net.URI;
import java.util.List;
import redis.clients.jedis.RedisClient;

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
 * Redis URL and namespace come from {@value #REDIS_URL_ENV} and {@value #NAMESPACE_ENV}.
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
        // Lazily connected; shares nothing with the backend's pool so a stuck ledger write cannot starve fetching.
        RedisClient redis = RedisClient.create(URI.create(url));
        long pid = ProcessHandle.current().pid();
        List<String> keys = List.of(BuiltInWorkers.ledgerKey(ns), runsKey(ns));
        registry.register(
                        LEDGER,
                        (args, ctx) -> redis.eval(
                                RECORD,
                                keys,
                                List.of(
                                        ctx.jid(),
                                        ctx.jid() + " " + ctx.backend().id() + " " + pid + " " + ctx.attempt() + " "
                                                + System.currentTimeMillis())))
                .register(SLOW, (args, ctx) -> {
                    Thread.sleep(args.get(0, Long.class));
                    redis.eval(
                            RECORD,
                            keys,
                            List.of(
                                    ctx.jid(),
                                    ctx.jid() + " " + ctx.backend().id() + " " + pid + " " + ctx.attempt() + " "
                                            + System.currentTimeMillis()));
                })
                .register(
                        POISON,
                        (args, ctx) -> {
                            throw new IllegalStateException("drill poison job " + ctx.jid() + " always fails");
                        },
                        WorkerOptions.custom().maxRetries(1).build())
                .register(HALT, (args, ctx) -> Runtime.getRuntime().halt(137));
    }
}
