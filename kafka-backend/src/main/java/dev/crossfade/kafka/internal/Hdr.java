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
    /**
     * What a worker needs to run a job without decoding its payload, in one header: {@code <attempt> <jid> <class>}
     * (attempt 1 first, 2 after one failure; the class is the rest of the value). One header because the producer,
     * the broker and the consumer each pay per header: three cost a quarter of the enqueue rate.
     */
    public static final String JOB = "crossfade-job";
    /**
     * The same fields as three headers: what Crossfade wrote before {@link #JOB}, still written for a jid containing
     * a space and still read, as other producers may write them.
     */
    public static final String CLASS = "class";

    public static final String JID = "jid";
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

    /** The header every job record carries: its attempt, jid and class ({@link #JOB}). */
    public static RecordHeaders jobHeaders(Job job) {
        return jobHeaders(job, bytes(job.jid()));
    }

    /** As {@link #jobHeaders(Job)}, with the jid already encoded (the producer also uses it as the key). */
    public static RecordHeaders jobHeaders(Job job, byte[] jid) {
        byte[] cls = bytes(job.className());
        if (indexOf(jid, 0) >= 0) {
            // A space would end the jid early in the one header.
            return new RecordHeaders(new Header[] {
                new RecordHeader(CLASS, cls),
                new RecordHeader(JID, jid),
                new RecordHeader(ATTEMPT, bytes(job.attempt()))
            });
        }
        byte[] attempt = bytes(job.attempt());
        byte[] v = new byte[attempt.length + 1 + jid.length + 1 + cls.length];
        System.arraycopy(attempt, 0, v, 0, attempt.length);
        int i = attempt.length;
        v[i++] = ' ';
        System.arraycopy(jid, 0, v, i, jid.length);
        i += jid.length;
        v[i++] = ' ';
        System.arraycopy(cls, 0, v, i, cls.length);
        // From an array: the list is made at its size, where add() would grow it.
        return new RecordHeaders(new Header[] {new RecordHeader(JOB, v)});
    }

    /** A job's class, jid and attempt as its record's headers give them. */
    public record JobFields(String className, String jid, int attempt) {}

    /**
     * The class, jid and attempt of a job record, from {@link #JOB} or else the three separate headers; null when
     * neither is present and well-formed (the payload must then be decoded).
     */
    public static JobFields jobFields(Headers headers) {
        Header job = headers.lastHeader(JOB);
        if (job != null) {
            return parseJob(job.value());
        }
        Header cls = headers.lastHeader(CLASS);
        Header jid = headers.lastHeader(JID);
        long attempt = number(headers, ATTEMPT, 0);
        if (cls == null || jid == null || cls.value() == null || jid.value() == null || !validAttempt(attempt)) {
            return null;
        }
        return new JobFields(
                new String(cls.value(), StandardCharsets.UTF_8), new String(jid.value(), StandardCharsets.UTF_8), (int)
                        attempt);
    }

    /** The fields a {@link #JOB} header's text gives, or null when it is malformed. */
    public static JobFields jobFields(String jobHeader) {
        return jobHeader == null ? null : parseJob(jobHeader.getBytes(StandardCharsets.UTF_8));
    }

    private static JobFields parseJob(byte[] v) {
        if (v == null) {
            return null;
        }
        int a = indexOf(v, 0);
        int j = a < 0 ? -1 : indexOf(v, a + 1);
        // Attempt digits, a non-empty jid and a non-empty class.
        if (a < 1 || j < a + 2 || j == v.length - 1) {
            return null;
        }
        long attempt = decimal(v, 0, a);
        if (!validAttempt(attempt)) {
            return null;
        }
        return new JobFields(
                new String(v, j + 1, v.length - j - 1, StandardCharsets.UTF_8),
                new String(v, a + 1, j - a - 1, StandardCharsets.UTF_8),
                (int) attempt);
    }

    private static boolean validAttempt(long attempt) {
        return attempt >= 1 && attempt <= Integer.MAX_VALUE;
    }

    /** The first space at or after {@code from}, or -1. */
    private static int indexOf(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == ' ') {
                return i;
            }
        }
        return -1;
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
        byte[] b = h.value();
        boolean neg = b[0] == '-';
        long v = decimal(b, neg ? 1 : 0, b.length);
        return v < 0 ? dflt : neg ? -v : v;
    }

    /** The decimal digits {@code b[from, to)} as a number (0 when none), or -1 when not digits or too large. */
    private static long decimal(byte[] b, int from, int to) {
        long v = 0;
        for (int i = from; i < to; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9 || v > (Long.MAX_VALUE - d) / 10) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }
}
