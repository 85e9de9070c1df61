package dev.crossfade.flags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.launchdarkly.sdk.LDValue;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Counts drained as LaunchDarkly's summary event, and a summary that could not be sent counted again. */
class DecisionCountsTest {

    @Test
    void drainsASummaryEventInTheSdksFormat() {
        DecisionCounts counts = new DecisionCounts();
        for (int i = 0; i < 3; i++) {
            counts.count("route", 7, 1, LDValue.of("kafka"), LDValue.of("redis"));
        }
        counts.count("route", 7, 0, LDValue.of("redis"), LDValue.of("redis"));
        counts.counter("kill", 2, 0, LDValue.of(false), LDValue.of(false)).increment();
        counts.count("missing", -1, -1, LDValue.of("redis"), LDValue.of("redis"));
        assertSame(
                counts.counter("kill", 2, 0, LDValue.of(false), LDValue.of(false)),
                counts.counter("kill", 2, 0, LDValue.of(false), LDValue.of(false)),
                "one counter per line");

        ObjectNode summary = counts.drain();
        assertEquals("summary", summary.path("kind").asText());
        assertFalse(summary.path("startDate").asLong() > summary.path("endDate").asLong());
        JsonNode route = summary.path("features").path("route");
        assertEquals("redis", route.path("default").asText());
        assertEquals("[\"job\"]", route.path("contextKinds").toString());
        assertEquals(
                List.of(
                        "{\"variation\":0,\"version\":7,\"value\":\"redis\",\"count\":1}",
                        "{\"variation\":1,\"version\":7,\"value\":\"kafka\",\"count\":3}"),
                lines(route));
        assertEquals(
                List.of("{\"variation\":0,\"version\":2,\"value\":false,\"count\":1}"),
                lines(summary.path("features").path("kill")));
        // An unknown flag, as the SDK writes it: no version or variation.
        assertEquals(
                List.of("{\"unknown\":true,\"value\":\"redis\",\"count\":1}"),
                lines(summary.path("features").path("missing")));

        assertNull(counts.drain(), "drained: nothing left");
        counts.restore(summary);
        counts.count("route", 7, 1, LDValue.of("kafka"), LDValue.of("redis"));
        ObjectNode again = counts.drain();
        assertEquals(
                List.of(
                        "{\"variation\":0,\"version\":7,\"value\":\"redis\",\"count\":1}",
                        "{\"variation\":1,\"version\":7,\"value\":\"kafka\",\"count\":4}"),
                lines(again.path("features").path("route")));
        assertEquals(summary.path("startDate").asLong(), again.path("startDate").asLong(), "covers the restored span");
    }

    /** A flag's older versions stop being scanned once they count nothing; the newest stays, idle or not. */
    @Test
    void dropsIdleCountersOfOlderVersions() {
        DecisionCounts counts = new DecisionCounts();
        DecisionCounts.Counter old = counts.counter("route", 1, 1, LDValue.of("kafka"), LDValue.of("redis"));
        DecisionCounts.Counter current = counts.counter("route", 2, 1, LDValue.of("kafka"), LDValue.of("redis"));
        old.increment();
        counts.drain();
        assertSame(old, counts.counter("route", 1, 1, LDValue.of("kafka"), LDValue.of("redis")), "counted lately");
        counts.drain();
        counts.drain();
        assertNotSame(old, counts.counter("route", 1, 1, LDValue.of("kafka"), LDValue.of("redis")), "dropped");
        assertSame(current, counts.counter("route", 2, 1, LDValue.of("kafka"), LDValue.of("redis")), "kept");
    }

    /** The counter lines of a flag, sorted: their order in a summary is of no meaning. */
    private static List<String> lines(JsonNode flag) {
        List<String> out = new ArrayList<>();
        flag.path("counters").forEach(c -> out.add(c.toString()));
        out.sort(null);
        return out;
    }
}
