package dev.crossfade.devservices.junit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import java.util.HashSet;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(CrossfadeServices.class)
class SharedServicesTest {
    private final TestNamespace fromConstructor;
    private TestNamespace fromBeforeEach;

    SharedServicesTest(TestNamespace ns) {
        this.fromConstructor = ns;
    }

    @BeforeEach
    void remember(TestNamespace ns) {
        this.fromBeforeEach = ns;
    }

    @Test
    void oneTestSeesOneNamespaceEverywhere(TestNamespace ns, RedisService redis) {
        assertEquals(ns, fromBeforeEach);
        assertEquals(ns, fromConstructor);
        assertTrue(ns.value().contains("oneTestSeesOneNamespaceEverywhere"), ns.value());
        record(redis, null, ns);
    }

    @Test
    void localAndInterfaceParametersAreTheSameSharedServers(
            RedisService redis, LocalRedis localRedis, KafkaService kafka, LocalKafka localKafka, TestNamespace ns) {
        assertSame(redis, localRedis);
        assertSame(kafka, localKafka);
        assertTrue(localRedis.isRunning());
        assertTrue(localKafka.isRunning());
        record(redis, kafka, ns);
    }

    static void record(RedisService redis, KafkaService kafka, TestNamespace ns) {
        Seen.REDIS.add(redis);
        if (kafka != null) {
            Seen.KAFKA.add(kafka);
        }
        Seen.NAMESPACES.add(ns);
        // Whichever class runs second checks against what the first one got.
        for (RedisService r : Seen.REDIS) {
            assertSame(redis, r, "one Redis per JVM");
        }
        for (KafkaService k : Seen.KAFKA) {
            assertSame(Seen.KAFKA.get(0), k, "one Kafka per JVM");
        }
        List<TestNamespace> all = Seen.NAMESPACES;
        assertEquals(all.size(), new HashSet<>(all).size(), "namespaces are distinct: " + all);
    }
}
