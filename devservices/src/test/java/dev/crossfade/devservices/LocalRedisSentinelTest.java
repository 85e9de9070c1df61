package dev.crossfade.devservices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalRedisSentinelTest {

    /** What failover tests rely on: a write reaches the replica, SIGKILL promotes it, the old master rejoins. */
    @Test
    void sigkillingTheMasterPromotesTheReplicaAndTheOldMasterRejoinsAsItsReplica() throws Exception {
        try (LocalRedisSentinel redis = LocalRedisSentinel.builder().build().start()) {
            assertTrue(
                    redis.uri().toString().startsWith("redis+sentinel://127.0.0.1:"),
                    redis.uri().toString());
            assertTrue(redis.uri().toString().endsWith("/mymaster"), redis.uri().toString());
            LocalRedis first = redis.master();
            assertEquals("OK", Resp.call(first, "SET", "crossfade:k", "v1"));
            assertEquals(1L, Resp.call(first, "WAIT", "1", "2000"), "the replica acknowledges the write");

            LocalRedis old = redis.killMaster();
            LocalRedis promoted = redis.awaitPromotion(old, Duration.ofSeconds(30));
            assertNotEquals(first.port(), promoted.port());
            assertEquals("v1", Resp.call(promoted, "GET", "crossfade:k"));

            redis.rejoin(old, Duration.ofSeconds(30));
            assertEquals("slave", ((List<?>) Resp.call(old, "ROLE")).get(0));
            assertEquals("v1", Resp.call(old, "GET", "crossfade:k"), "resynced from the new master");

            redis.restartSentinel(0);
            assertEquals(promoted.port(), redis.master().port(), "a restarted sentinel still names the new master");
        }
    }
}
