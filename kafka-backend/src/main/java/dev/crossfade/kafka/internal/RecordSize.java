package dev.crossfade.kafka.internal;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.PayloadTooLargeException;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;

/**
 * The size limits of the backend's records, all derived from the producers' {@code max.request.size}, which the
 * producer enforces per record (key, value, headers and batch framing). An enqueue must leave room for what a failed
 * run adds before the job is written again as a retry or a dead letter (error fields, delay or DLQ headers), so a job
 * that was accepted never becomes too large to store its outcome. A record from elsewhere (a raw producer, another
 * configuration) can still be too large by then; {@link #tooLarge} lets the writer see that before sending.
 */
public final class RecordSize {
    /**
     * Room for a failure's additions: the error message (the core keeps 4,000 chars, which JSON escaping may make six
     * times as many bytes), error class, timestamps and retry count in the job, and the delay or DLQ headers (the
     * error message header keeps 1,000 chars).
     */
    public static final int ERROR_ROOM = 32 * 1024;
    // DefaultRecordBatch's framing (61) and a record's largest overhead (21), plus varints rounded up.
    private static final int FRAMING = 61 + 21 + 3 * 5;
    private static final int PER_HEADER = 2 * 5;

    private final int maxRequestSize;

    public RecordSize(int maxRequestSize) {
        if (maxRequestSize < 4 * 1024) {
            throw new IllegalArgumentException("max.request.size of " + maxRequestSize + " bytes leaves no room for a "
                    + "job; Kafka's default is 1048576");
        }
        this.maxRequestSize = maxRequestSize;
    }

    public int maxRequestSize() {
        return maxRequestSize;
    }

    /** The largest record an enqueue may send: {@code max.request.size} less the room a failure needs. */
    public int enqueueLimit() {
        return maxRequestSize - room();
    }

    private int room() {
        // A deployment that shrank max.request.size far below Kafka's default still gets most of it for payloads.
        return Math.min(ERROR_ROOM, maxRequestSize / 4);
    }

    /** An upper bound of the bytes the producer counts against {@code max.request.size} for this record. */
    public static int estimate(ProducerRecord<byte[], byte[]> r) {
        long n = FRAMING + length(r.key()) + length(r.value());
        for (Header h : r.headers()) {
            n += PER_HEADER + utf8Length(h.key()) + length(h.value());
        }
        return (int) Math.min(Integer.MAX_VALUE, n);
    }

    /** Null when the record fits; else the reason, naming both sizes. */
    public String tooLarge(ProducerRecord<byte[], byte[]> r) {
        int size = estimate(r);
        return size <= maxRequestSize
                ? null
                : "record too large (" + size + " bytes > max.request.size " + maxRequestSize + ")";
    }

    /**
     * Refuses an enqueue whose record leaves no room for a failure's additions.
     *
     * @throws PayloadTooLargeException naming the job, its record's size and the limit
     */
    public void checkEnqueue(Job job, ProducerRecord<byte[], byte[]> r) {
        int size = estimate(r);
        if (size > enqueueLimit()) {
            throw new PayloadTooLargeException(
                    "job " + job.jid() + " (" + shorten(job.className())
                            + ") as a Kafka record, whose limit is the producers' max.request.size of " + maxRequestSize
                            + " bytes less " + room() + " kept for the error fields of a failed run,",
                    size,
                    enqueueLimit());
        }
    }

    private static String shorten(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }

    /** The UTF-8 length of {@code s} without encoding it: this runs for every header of every enqueued record. */
    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n++;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c)
                    && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }

    private static int length(byte[] b) {
        return b == null ? 0 : b.length;
    }
}
