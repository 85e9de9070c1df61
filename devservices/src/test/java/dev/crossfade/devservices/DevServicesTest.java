package dev.crossfade.devservices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The override order of {@link DevServices}; system properties stand in for the environment variables. */
class DevServicesTest {

    @AfterEach
    void clear() {
        System.clearProperty(DevServices.REDIS_URL);
        System.clearProperty(DevServices.KAFKA_BOOTSTRAP);
    }

    @Test
    void redisUrlSelectsAnExternalServerThatIsNeitherControlledNorClosed() throws Exception {
        try (LocalRedis real = LocalRedis.builder().build().start()) {
            System.setProperty(DevServices.REDIS_URL, real.uri().toString());
            try (RedisService redis = DevServices.redis()) {
                assertFalse(redis.isControllable());
                assertEquals(real.uri(), redis.uri());
                assertEquals(real.port(), redis.port());
                assertEquals("PONG", Resp.call(redis, "PING"));
            }
            assertTrue(real.isRunning(), "closing an external handle leaves the server alone");
        }
    }

    @Test
    void kafkaBootstrapSelectsAnExternalCluster() {
        System.setProperty(DevServices.KAFKA_BOOTSTRAP, " broker-1:9092,broker-2:9092 ");
        try (KafkaService kafka = DevServices.kafka()) {
            assertFalse(kafka.isControllable());
            assertEquals("broker-1:9092,broker-2:9092", kafka.bootstrapServers());
        }
    }

    @Test
    void withoutOverridesALocalProcessIsStarted() {
        assumeTrue(System.getenv(DevServices.REDIS_URL) == null && System.getenv(DevServices.TESTCONTAINERS) == null);
        try (RedisService redis = DevServices.redis(LocalRedis.builder().maxmemoryPolicy("noeviction"))) {
            assertInstanceOf(LocalRedis.class, redis);
            assertTrue(redis.isControllable());
        }
    }
}
