package dev.crossfade.redis;

import dev.crossfade.api.worker.Worker;
import dev.crossfade.api.worker.WorkerRegistry;
import redis.clients.jedis.UnifiedJedis;

/**
 * Workers for fault tests whose runs are counted in Redis itself ({@code HINCRBY <ns>test:runs <jid> 1} after the
 * work), so runs in a SIGKILLed child JVM are still counted: duplicates show as counts above one, losses as missing
 * jids.
 */
final class CountingWorkers {
    static final String COUNTED = "CountedWorker";
    static final String KILLER = "KillerWorker";

    private CountingWorkers() {}

    static String runsKey(RedisBackend backend) {
        return backend.key("test:runs");
    }

    /**
     * {@code CountedWorker(sleepMillis)} sleeps then counts; {@code KillerWorker} halts the JVM, like a job that
     * segfaults a native library or exhausts memory every time it runs.
     */
    static WorkerRegistry registry(RedisBackend backend) {
        return builder(backend).build();
    }

    /** The registry's builder, for tests that add their own workers. */
    static WorkerRegistry.Builder builder(RedisBackend backend) {
        UnifiedJedis redis = backend.redis();
        String runs = runsKey(backend);
        Worker counted = (args, ctx) -> {
            Thread.sleep(args.get(0, Long.class));
            redis.hincrBy(runs, ctx.jid(), 1);
        };
        Worker killer = (args, ctx) -> {
            System.out.println("KILLER running " + ctx.jid() + ": halting the JVM");
            System.out.flush();
            Runtime.getRuntime().halt(137);
        };
        return WorkerRegistry.builder().register(COUNTED, counted).register(KILLER, killer);
    }
}
