package dev.crossfade.devservices.junit;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A second class: must get the very same servers as {@link SharedServicesTest}, with its own namespaces. */
@ExtendWith(CrossfadeServices.class)
class SharedServicesAgainTest {
    private static TestNamespace classNamespace;

    @BeforeAll
    static void perClass(TestNamespace ns) {
        classNamespace = ns;
        assertTrue(ns.value().contains("SharedServicesAgainTest"), ns.value());
    }

    @Test
    void getsTheSameServersAndAFreshNamespace(RedisService redis, KafkaService kafka, TestNamespace ns) {
        assertNotEquals(classNamespace, ns);
        SharedServicesTest.record(redis, kafka, ns);
    }

    @Test
    void anotherMethodAnotherNamespace(RedisService redis, TestNamespace ns) {
        SharedServicesTest.record(redis, null, ns);
    }
}
