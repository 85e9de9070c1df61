package dev.crossfade.cli.runtime;

import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;

/**
 * Workers every {@code crossfade work} process has, for smoke tests and drills: {@code crossfade.Echo} logs its args;
 * {@code crossfade.Ledger} counts each jid it runs in a Redis hash ({@code <namespace>:crossfade:ledger}), so a drill
 * can account for every job across processes and count duplicates.
 */
public final class BuiltInWorkers {
    public static final String ECHO = "crossfade.Echo";
    public static final String LEDGER = "crossfade.Ledger";

    private static final Logger log = LoggerFactory.getLogger("crossfade.Echo");

    private BuiltInWorkers() {}

    /**
     * The hash the ledger worker writes: jid to number of runs.
     *
     * @param prefix the Redis backend's key prefix ({@code RedisBackend.key("")}: empty or ending in {@code :})
     */
    public static String ledgerKey(String prefix) {
        return (prefix == null ? "" : prefix) + "crossfade:ledger";
    }

    /** Adds the built-in workers; {@code prefix} as for {@link #ledgerKey}. */
    public static WorkerRegistry.Builder register(WorkerRegistry.Builder registry, UnifiedJedis redis, String prefix) {
        String ledger = ledgerKey(prefix);
        return registry.register(
                        ECHO,
                        (args, ctx) -> log.info(
                                "{} on {} (attempt {}{}): {}",
                                ctx.jid(),
                                ctx.backend().id(),
                                ctx.attempt(),
                                ctx.shadow() ? ", shadow" : "",
                                args),
                        WorkerOptions.custom().shadowSafe(true).build())
                .register(LEDGER, (args, ctx) -> {
                    redis.hincrBy(ledger, ctx.jid(), 1);
                    ctx.result(args.raw());
                });
    }
}
