package dev.crossfade.redis;

import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import java.net.URI;
import java.time.Duration;
import java.util.List;

/**
 * A worker process for fault tests, run in its own JVM so a test can SIGKILL it mid-batch:
 * {@code java -cp <test classpath> dev.crossfade.redis.KillableWorkerMain <redis-uri> <namespace> <queue> <concurrency>
 * <maxRecoveries>}. Prints {@code READY <identity>} once its runtime has started, then runs until killed.
 */
public final class KillableWorkerMain {
    private KillableWorkerMain() {}

    public static void main(String[] args) throws Exception {
        RedisBackend backend = RedisBackend.create(TestConfigs.fast(URI.create(args[0]), args[1])
                .maxRecoveries(Integer.parseInt(args[4]))
                .build());
        ExecutionCore core = ExecutionCore.builder(CountingWorkers.registry(backend))
                .retryPolicy(RetryPolicy.fixed(Duration.ofMillis(200)))
                .build();
        RedisWorkerRuntime runtime = backend.workers(core, List.of(args[2]), Integer.parseInt(args[3]));
        runtime.start();
        System.out.println("READY " + runtime.identity());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
