package dev.crossfade.flags;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which stored flags serve one variation to every context: a pure reading of LaunchDarkly's flag JSON. */
class FlagMemoryTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /*
     * The SDK gives a context whose bucket is at or past the summed weights the last variation listed, and a bucket
     * can round up to 1.0: so a rollout serves one variation for certain only when that one is also listed last.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            fixed variation                 | true  | "fallthrough": {"variation": 1}
            rollout, all on the second      | true  | "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 0}, {"variation": 1, "weight": 100000}]}}
            rollout, all on the first       | false | "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 100000}, {"variation": 1, "weight": 0}]}}
            rollout, 50/50                  | false | "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}}
            rollout, 1 in 100000            | false | "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 99999}, {"variation": 1, "weight": 1}]}}
            short weights, last differs     | false | "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 60000}, {"variation": 1, "weight": 0}]}}
            no default rule                 | false | "fallthrough": {}
            off                             | false | "on": false, "fallthrough": {"variation": 1}
            a prerequisite                  | false | "prerequisites": [{"key": "other", "variation": 0}], "fallthrough": {"variation": 1}
            a target                        | false | "targets": [{"values": ["vip"], "variation": 0}], "fallthrough": {"variation": 1}
            a context target                | false | "contextTargets": [{"contextKind": "job", "values": ["vip"], "variation": 0}], "fallthrough": {"variation": 1}
            a rule                          | false | "rules": [{"id": "r", "variation": 0, "clauses": []}], "fallthrough": {"variation": 1}
            empty lists                     | true  | "targets": [], "contextTargets": [], "rules": [], "prerequisites": [], "fallthrough": {"variation": 0}
            deleted                         | false | "deleted": true, "fallthrough": {"variation": 1}
            """)
    void servesOneVariation(String name, boolean expected, String fields) throws Exception {
        // A later "on" wins in Jackson's tree: the "off" case overrides the one here.
        JsonNode flag =
                JSON.readTree("{\"key\": \"f\", \"on\": true, \"variations\": [\"redis\", \"kafka\"], " + fields + "}");
        assertEquals(expected, FlagMemory.servesOneVariation(flag), name);
    }

    /* Full and debug events name each job's own context, so a flag asking for them is evaluated per job. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            plain                        | true  | "version": 3
            full events for all          | false | "trackEvents": true
            full events for the default  | false | "trackEventsFallthrough": true
            debugging under way          | false | "debugEventsUntilDate": 4102444800000
            debugging ended              | true  | "debugEventsUntilDate": 946684800000
            left out of counts           | false | "excludeFromSummaries": true
            """)
    void countsOnly(String name, boolean expected, String fields) throws Exception {
        JsonNode flag = JSON.readTree("{\"key\": \"f\", \"on\": true, " + fields + "}");
        assertEquals(expected, FlagMemory.countsOnly(flag), name);
    }
}
