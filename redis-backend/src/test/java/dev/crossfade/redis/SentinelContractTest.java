package dev.crossfade.redis;

import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.LocalRedisSentinel;
import dev.crossfade.tck.BackendFixture;
import dev.crossfade.tck.JobQueueContract;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The backend contract suite through Sentinel ({@code redis+sentinel://}, Jedis's sentinel client rather than the
 * plain pool), each test under its own key namespace: the time limit of an enqueue, with the master frozen, holds
 * here too. The sentinels wait a minute before they call the master down, so a freeze is no failover.
 */
class SentinelContractTest extends JobQueueContract {
    private static LocalRedisSentinel redis;

    @BeforeAll
    static void start() {
        redis = LocalRedisSentinel.builder()
                .downAfter(Duration.ofMinutes(1))
                .build()
                .start();
    }

    @AfterAll
    static void stop() {
        if (redis != null) {
            redis.close();
        }
    }

    @Override
    protected BackendFixture createFixture(String namespace) {
        LocalRedis master = redis.master();
        return RedisContractTest.backendFixture(
                redis.uri(), namespace, Optional.of(BackendFixture.Freezable.of(master::pause, master::resume)));
    }
}
