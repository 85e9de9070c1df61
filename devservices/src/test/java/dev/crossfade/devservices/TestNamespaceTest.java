package dev.crossfade.devservices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TestNamespaceTest {

    @Test
    void valuesAreLegalKafkaTopicPrefixesAndBounded() {
        TestNamespace ns =
                TestNamespace.random("retries failed_job [1] with a very long display name that goes on and on");
        assertTrue(ns.value().matches("t[0-9a-f]{8}-[a-zA-Z0-9.-]+"), ns.value());
        assertTrue(ns.value().length() <= TestNamespace.MAX_LENGTH);
        assertTrue(ns.value().startsWith(ns.value().substring(0, 9) + "-retries-failed-job-1-with"), ns.value());
        assertEquals(ns.value() + ".jobs", ns.topic("jobs"));
        assertEquals(ns.value() + ":queue:default", ns.key("queue", "default"));
        assertEquals(ns.value() + ".workers", ns.group("workers"));
        assertThrows(IllegalArgumentException.class, () -> ns.topic("bad topic"));
    }

    @Test
    void sameHintStillGivesDistinctNamespaces() {
        assertNotEquals(TestNamespace.random("x"), TestNamespace.random("x"));
        assertTrue(TestNamespace.random("").value().matches("t[0-9a-f]{8}"));
        assertTrue(TestNamespace.random("--__..").value().matches("t[0-9a-f]{8}"));
    }

    @Test
    void ofValidates() {
        assertEquals("demo-1", TestNamespace.of("demo-1").value());
        assertThrows(IllegalArgumentException.class, () -> TestNamespace.of("has space"));
        assertThrows(IllegalArgumentException.class, () -> TestNamespace.of(""));
        assertThrows(IllegalArgumentException.class, () -> TestNamespace.of("x".repeat(61)));
    }
}
