package dev.crossfade.kafka.internal;

import dev.crossfade.api.Job;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * Record header names and codecs. Internal: not part of the API. Values are UTF-8 text (numbers in decimal) so that
 * {@code kcat -f '%h'} and other tools show them as they are.
 */
public final class Hdr {
    /** The job's worker class. */
    public static final String CLASS = "class";
    /** The job id. */
    public static final String JID = "jid";
    /** Which run this record is for: 1 first, 2 after one failure. */
    public static final String ATTEMPT = "attempt";
    /** Delay tiers: the epoch millisecond the job is due. */
    public static final String DUE = "crossfade-due";
    /** Delay tiers: the epoch millisecond this record may leave its tier (never after {@link #DUE}). */
    public static final String HOP = "crossfade-hop";
    /** Delay tiers: the jobs topic the record goes to once due. */
    public static final String TARGET = "crossfade-target";
    /** DLQ: where the failing record was read. */
    public static final String SOURCE_TOPIC = "source-topic";

    public static final String SOURCE_PARTITION = "source-partition";
    public static final String SOURCE_OFFSET = "source-offset";
    /** DLQ: how many runs the job had. */
    public static final String ATTEMPTS = "attempts";

    public static final String ERROR_CLASS = "error-class";
    public static final String ERROR_MESSAGE = "error-message";
    /** DLQ, on a truncated envelope: the class of the job it stands for. */
    public static final String ORIGINAL_CLASS = "original-class";

    private Hdr() {}

    /** The headers every job record carries: class, jid and attempt. */
    public static RecordHeaders jobHeaders(Job job) {
        return jobHeaders(job, bytes(job.jid()));
    }

    /** As {@link #jobHeaders(Job)}, with the jid already encoded (the producer also uses it as the key). */
    public static RecordHeaders jobHeaders(Job job, byte[] jid) {
        // From an array: the list is made at its size, where add() would grow it (a tenth of a raw send's cost).
        return new RecordHeaders(new Header[] {
            new RecordHeader(CLASS, bytes(job.className())),
            new RecordHeader(JID, jid),
            new RecordHeader(ATTEMPT, bytes(job.attempt()))
        });
    }

    public static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] bytes(long v) {
        if (v >= 0 && v < 10) {
            // The attempt header of nearly every record: no string on the enqueue path.
            return new byte[] {(byte) ('0' + v)};
        }
        return Long.toString(v).getBytes(StandardCharsets.UTF_8);
    }

    /** The last value of a header as text, or null. */
    public static String text(Headers headers, String key) {
        Header h = headers.lastHeader(key);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    /** The last value of a numeric header, or {@code dflt} when missing or not a number. */
    public static long number(Headers headers, String key, long dflt) {
        Header h = headers.lastHeader(key);
        if (h == null || h.value() == null || h.value().length == 0) {
            return dflt;
        }
        // Hand-rolled: this runs per scheduled record and avoids a String per header.
        long v = 0;
        byte[] b = h.value();
        int i = 0;
        boolean neg = b[0] == '-';
        if (neg) {
            i = 1;
        }
        for (; i < b.length; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) {
                return dflt;
            }
            v = v * 10 + d;
        }
        return neg ? -v : v;
    }
}
