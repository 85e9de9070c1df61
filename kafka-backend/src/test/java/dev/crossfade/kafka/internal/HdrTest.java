package dev.crossfade.kafka.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.crossfade.api.Job;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

class HdrTest {
    private static RecordHeaders job(String value) {
        return new RecordHeaders(
                new Header[] {new RecordHeader(Hdr.JOB, value == null ? null : value.getBytes(StandardCharsets.UTF_8))
                });
    }

    @Test
    void aJobsFieldsRoundTripThroughItsOneHeader() {
        Job job = Job.builder("Billing::Invoice Worker").jid("abc123").build();
        RecordHeaders h = Hdr.jobHeaders(job);
        assertEquals(1, h.toArray().length);
        assertEquals(new Hdr.JobFields("Billing::Invoice Worker", "abc123", 1), Hdr.jobFields(h));
        assertEquals(new Hdr.JobFields("W", "j", 12), Hdr.jobFields(job("12 j W")));
    }

    @Test
    void aJidWithASpaceTravelsInTheThreeHeaders() {
        RecordHeaders h = Hdr.jobHeaders(Job.builder("W").jid("a b").build());
        assertNull(h.lastHeader(Hdr.JOB));
        assertEquals(new Hdr.JobFields("W", "a b", 1), Hdr.jobFields(h));
    }

    @Test
    void aMalformedJobHeaderGivesNothing() {
        for (String bad : new String[] {
            null, "", "1", "1 j", "1 j ", "1  W", " j W", "x j W", "0 j W", "-1 j W", "99999999999 j W"
        }) {
            assertNull(Hdr.jobFields(job(bad)), "'" + bad + "'");
        }
        assertNull(Hdr.jobFields(new RecordHeaders()), "no header");
    }

    @Test
    void aNumericHeaderIsItsDecimalValueElseTheDefault() {
        for (String[] c : new String[][] {
            {"1796560322101", "1796560322101"},
            {"-5", "-5"},
            {"0", "0"},
            {"x", "7"},
            {"", "7"},
            {"1.5", "7"},
            {"99999999999999999999", "7"}
        }) {
            RecordHeaders h =
                    new RecordHeaders(new Header[] {new RecordHeader(Hdr.DUE, c[0].getBytes(StandardCharsets.UTF_8))});
            assertEquals(Long.parseLong(c[1]), Hdr.number(h, Hdr.DUE, 7), "'" + c[0] + "'");
        }
        assertEquals(5, Hdr.number(new RecordHeaders(), Hdr.DUE, 5));
    }
}
