package dev.crossfade.api.codec;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Jid;
import dev.crossfade.api.Job;
import dev.crossfade.api.internal.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the Sidekiq job JSON, with validation.
 *
 * <p>Timestamps are written as epoch seconds in a JSON float (what Sidekiq 6 and 7 write and Sidekiq 8 reads) or, with
 * {@link Timestamps#MILLISECONDS}, as integer milliseconds (what Sidekiq 8 writes); on read, a float is seconds and an
 * integer is milliseconds. Keys the envelope does not model are kept
 * in order and written back unchanged. Thread-safe and immutable.
 */
public final class JobCodec {
    /** Default payload limit: 1 MiB, below Kafka's default {@code max.message.bytes}. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

    private static final JobCodec DEFAULT = builder().build();
    private static final BigDecimal BILLION = BigDecimal.valueOf(1_000_000_000L);
    // The envelope's punctuation and field names, encoded once.
    private static final byte[] CLASS = JsonOut.ascii("{\"class\":");
    private static final byte[] ARGS = JsonOut.ascii(",\"args\":[");
    private static final byte[] RETRY = JsonOut.ascii(",\"retry\":");
    private static final byte[] QUEUE = JsonOut.ascii(",\"queue\":");
    private static final byte[] JID = JsonOut.ascii(",\"jid\":");
    private static final byte[] CREATED_AT = JsonOut.ascii(",\"created_at\":");
    private static final byte[] ENQUEUED_AT = JsonOut.ascii(",\"enqueued_at\":");
    private static final byte[] AT = JsonOut.ascii(",\"at\":");
    private static final byte[] RETRY_COUNT = JsonOut.ascii(",\"retry_count\":");
    private static final byte[] ERROR_MESSAGE = JsonOut.ascii(",\"error_message\":");
    private static final byte[] ERROR_CLASS = JsonOut.ascii(",\"error_class\":");
    private static final byte[] FAILED_AT = JsonOut.ascii(",\"failed_at\":");
    private static final byte[] RETRIED_AT = JsonOut.ascii(",\"retried_at\":");
    private static final byte[] ROUTING_KEY = JsonOut.ascii(",\"routing_key\":");
    private static final byte[] SHADOW = JsonOut.ascii(",\"shadow\":true");

    /**
     * How a job's timestamps ({@code created_at}, {@code enqueued_at}, {@code failed_at}, {@code retried_at}) are
     * written. Both are always read: a JSON float is seconds, an integer is milliseconds.
     */
    public enum Timestamps {
        /** Epoch seconds as a float with microseconds, as Sidekiq 6 and 7 write them. */
        FLOAT_SECONDS,
        /** Epoch milliseconds as an integer, as Sidekiq 8 writes them. */
        MILLISECONDS
    }

    private final int maxPayloadBytes;
    private final Timestamps timestamps;
    private final ObjectMapper mapper = Json.mapper();
    // Reads one value in the middle of a payload; the mapper's trailing-token check would reject the rest of the job.
    private final ObjectReader subtree = mapper.reader().without(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final JsonNodeFactory nodes = mapper.getNodeFactory();
    // Each thread's job writer, reused job after job (making and closing a generator per job cost as much as writing
    // the job).
    private final ThreadLocal<JsonOut> outs = ThreadLocal.withInitial(() -> new JsonOut(mapper));

    private JobCodec(Builder b) {
        this.maxPayloadBytes = b.maxPayloadBytes;
        this.timestamps = b.timestamps;
    }

    /** The codec with default settings (1 MiB limit). */
    public static JobCodec defaults() {
        return DEFAULT;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int maxPayloadBytes() {
        return maxPayloadBytes;
    }

    public Timestamps timestamps() {
        return timestamps;
    }

    /**
     * Encodes a job to UTF-8 JSON.
     *
     * @throws PayloadTooLargeException when the result is over the limit
     */
    public byte[] encode(Job job) {
        return encode(job, job.enqueuedAt(), job.at());
    }

    /**
     * Encodes a job as it sits in a queue, ready to run: {@code enqueued_at} set to {@code enqueuedAt} and no
     * {@code at}. The same bytes as {@code encode(job.toBuilder().at(null).enqueuedAt(enqueuedAt).build())}, without
     * copying the job (this is on every enqueue's path).
     *
     * @throws PayloadTooLargeException when the result is over the limit
     */
    public byte[] encodeEnqueued(Job job, Instant enqueuedAt) {
        return encode(job, enqueuedAt, null);
    }

    private byte[] encode(Job job, Instant enqueuedAt, Instant at) {
        JsonOut o = outs.get();
        byte[] bytes = null;
        try {
            o.raw(CLASS);
            o.string(job.className());
            o.raw(ARGS);
            boolean first = true;
            for (JsonNode arg : job.args()) {
                if (!first) {
                    o.raw(',');
                }
                first = false;
                o.node(arg);
            }
            o.raw(']');
            if (job.retry() != null) {
                o.raw(RETRY);
                o.node(job.retry());
            }
            o.raw(QUEUE);
            o.string(job.queue());
            o.raw(JID);
            o.string(job.jid());
            writeStamp(o, CREATED_AT, job.createdAt());
            writeStamp(o, ENQUEUED_AT, enqueuedAt);
            writeTime(o, AT, at);
            if (job.retryCount() != null) {
                o.raw(RETRY_COUNT);
                o.number(job.retryCount().intValue());
            }
            if (job.errorMessage() != null) {
                o.raw(ERROR_MESSAGE);
                o.string(job.errorMessage());
            }
            if (job.errorClass() != null) {
                o.raw(ERROR_CLASS);
                o.string(job.errorClass());
            }
            writeStamp(o, FAILED_AT, job.failedAt());
            writeStamp(o, RETRIED_AT, job.retriedAt());
            if (job.routingKey() != null) {
                o.raw(ROUTING_KEY);
                o.string(job.routingKey());
            }
            if (job.shadow()) {
                o.raw(SHADOW);
            }
            for (Map.Entry<String, JsonNode> e : job.extra().entrySet()) {
                o.raw(',');
                o.string(e.getKey());
                o.raw(':');
                o.node(e.getValue());
            }
            o.raw('}');
            bytes = o.take();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode job " + job.jid(), e);
        } finally {
            if (bytes == null) {
                // Whatever stopped this job midway may have left the generator inside a value: the next job gets a
                // new one.
                outs.remove();
            }
        }
        if (bytes.length > maxPayloadBytes) {
            throw new PayloadTooLargeException(
                    "job " + job.jid() + " (" + job.className() + ")", bytes.length, maxPayloadBytes);
        }
        return bytes;
    }

    /** Encodes a job to a JSON string (Redis stores strings). */
    public String encodeToString(Job job) {
        return new String(encode(job), StandardCharsets.UTF_8);
    }

    /** Decodes a JSON string. */
    public Job decode(String payload) {
        if (payload == null) {
            throw new InvalidPayloadException("payload is null");
        }
        return decode(payload.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Decodes and validates a payload.
     *
     * @throws InvalidPayloadException naming the fault: not JSON, not an object, no {@code class}, {@code args} not an
     *                                 array, a field of the wrong type, or over the size limit
     */
    public Job decode(byte[] payload) {
        if (payload == null) {
            throw new InvalidPayloadException("payload is null");
        }
        if (payload.length > maxPayloadBytes) {
            throw new PayloadTooLargeException("payload", payload.length, maxPayloadBytes);
        }
        try {
            Envelope env;
            try (JsonParser p = mapper.getFactory().createParser(payload)) {
                env = read(p, payload);
            }
            // Checked only once the whole payload has parsed, so broken JSON is reported as such before any field
            // fault.
            return env.toJob();
        } catch (InvalidPayloadException e) {
            throw e;
        } catch (JsonProcessingException e) {
            throw new InvalidPayloadException(
                    "payload is not valid JSON (" + e.getOriginalMessage() + "): " + preview(payload), e);
        } catch (DateTimeException e) {
            throw new InvalidPayloadException(
                    "payload has a timestamp out of range (" + e.getMessage() + "): " + preview(payload), e);
        } catch (IOException | RuntimeException | StackOverflowError e) {
            // Whatever else a hostile payload provokes is still a fault of the payload, never of the worker thread.
            throw new InvalidPayloadException("payload cannot be decoded (" + e + "): " + preview(payload), e);
        }
    }

    /*
     * Streams the top-level object instead of building a tree of it: this is on every fetched job's path, and the tree
     * (a map per job, a BigDecimal per timestamp) cost about half of a no-op job's processing time. Args and unknown
     * keys still become nodes, since workers and round trips need them as such.
     */
    private Envelope read(JsonParser p, byte[] payload) throws IOException {
        JsonToken first = p.nextToken();
        if (first == null) {
            throw new InvalidPayloadException("payload is empty");
        }
        if (first != JsonToken.START_OBJECT) {
            throw new InvalidPayloadException("payload is a JSON " + typeName(first)
                    + ", expected an object with 'class' and 'args': " + preview(payload));
        }
        Envelope env = new Envelope();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken t = p.nextToken();
            switch (field) {
                case "class" -> env.cls = scalar(p, t);
                case "args" -> {
                    if (t == JsonToken.START_ARRAY) {
                        env.argsJson = arrayText(p, payload);
                        env.args = null;
                    } else {
                        env.args = node(p, t);
                        env.argsJson = null;
                    }
                }
                case "jid" -> env.jid = scalar(p, t);
                case "queue" -> env.queue = scalar(p, t);
                case "created_at" -> env.createdAt = time(p, t);
                case "enqueued_at" -> env.enqueuedAt = time(p, t);
                case "at" -> env.at = time(p, t);
                case "retry" -> env.retry = node(p, t);
                case "retry_count" -> env.retryCount = node(p, t);
                case "error_message" -> env.errorMessage = scalar(p, t);
                case "error_class" -> env.errorClass = scalar(p, t);
                case "failed_at" -> env.failedAt = time(p, t);
                case "retried_at" -> env.retriedAt = time(p, t);
                case "routing_key" -> env.routingKey = scalar(p, t);
                case "shadow" -> env.shadow = node(p, t).asBoolean(false);
                default -> env.extra(field, node(p, t));
            }
        }
        if (p.nextToken() != null) {
            throw new InvalidPayloadException(
                    "payload is not valid JSON (content after the end of the job object): " + preview(payload));
        }
        return env;
    }

    /**
     * One value as a node, the same node the mapper's tree reader makes. Scalars are made here: going through the
     * reader costs a deserialization context per value, which showed in the allocation profile of every fetched job.
     */
    private JsonNode node(JsonParser p, JsonToken t) throws IOException {
        return switch (t) {
            case VALUE_NULL -> NullNode.getInstance();
            case VALUE_TRUE -> BooleanNode.TRUE;
            case VALUE_FALSE -> BooleanNode.FALSE;
            case VALUE_STRING -> TextNode.valueOf(p.getText());
            case VALUE_NUMBER_INT ->
                switch (p.getNumberType()) {
                    case INT -> IntNode.valueOf(p.getIntValue());
                    case LONG -> LongNode.valueOf(p.getLongValue());
                    default -> nodes.numberNode(p.getBigIntegerValue());
                };
            // Exact decimals, as the mapper reads floats (USE_BIG_DECIMAL_FOR_FLOATS with exact BigDecimal nodes).
            case VALUE_NUMBER_FLOAT -> nodes.numberNode(p.getDecimalValue());
            default -> subtree.readTree(p);
        };
    }

    /**
     * The args array's text, from its {@code [} to its {@code ]}. Skipping still tokenizes it, so broken JSON inside
     * the args fails here, as before; only the nodes wait until a worker reads them ({@link Job.Builder#argsJson}).
     */
    private static byte[] arrayText(JsonParser p, byte[] payload) throws IOException {
        int start = (int) p.currentTokenLocation().getByteOffset();
        p.skipChildren();
        int end = (int) p.currentTokenLocation().getByteOffset() + 1;
        return Arrays.copyOfRange(payload, start, end);
    }

    /** A string field's value: the String itself, null for JSON null, or the node when it is not a string. */
    private Object scalar(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_STRING) {
            return p.getText();
        }
        return t == JsonToken.VALUE_NULL ? null : node(p, t);
    }

    /** A timestamp field's value: the Instant, null for JSON null, or the node when it is not a number. */
    private Object time(JsonParser p, JsonToken t) throws IOException {
        if (t == JsonToken.VALUE_NUMBER_INT) {
            return Instant.ofEpochMilli(p.getLongValue());
        }
        if (t == JsonToken.VALUE_NUMBER_FLOAT) {
            return floatSeconds(p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
        }
        return t == JsonToken.VALUE_NULL ? null : node(p, t);
    }

    /**
     * Epoch seconds from a float's decimal text, exact to the nanosecond (a double is not: it has about 0.2 µs of
     * resolution at today's epoch). Plain {@code 123.456} is parsed here; signs and exponents take the BigDecimal path.
     */
    static Instant floatSeconds(char[] text, int offset, int length) {
        long whole = 0;
        long nanos = 0;
        int i = offset;
        int end = offset + length;
        int wholeDigits = 0;
        for (; i < end && text[i] >= '0' && text[i] <= '9' && wholeDigits < 18; i++, wholeDigits++) {
            whole = whole * 10 + (text[i] - '0');
        }
        if (i < end && text[i] == '.' && wholeDigits > 0) {
            int fracDigits = 0;
            for (i++; i < end && text[i] >= '0' && text[i] <= '9'; i++, fracDigits++) {
                if (fracDigits < 9) {
                    nanos = nanos * 10 + (text[i] - '0');
                }
            }
            for (int d = fracDigits; d < 9; d++) {
                nanos *= 10;
            }
        }
        if (i == end && wholeDigits > 0) {
            return Instant.ofEpochSecond(whole, nanos);
        }
        BigDecimal seconds = new BigDecimal(text, offset, length);
        long w = seconds.longValue();
        long n = seconds.subtract(BigDecimal.valueOf(w)).multiply(BILLION).longValue();
        return Instant.ofEpochSecond(w, n);
    }

    private static String typeName(JsonToken t) {
        return switch (t) {
            case START_ARRAY -> "array";
            case VALUE_STRING -> "string";
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
            case VALUE_TRUE, VALUE_FALSE -> "boolean";
            case VALUE_NULL -> "null";
            default -> t.name().toLowerCase();
        };
    }

    /** The top-level fields as read, validated in one place once the whole payload has parsed. */
    private static final class Envelope {
        Object cls;
        byte[] argsJson;
        JsonNode args;
        Object jid;
        Object queue;
        Object createdAt;
        Object enqueuedAt;
        Object at;
        JsonNode retry;
        JsonNode retryCount;
        Object errorMessage;
        Object errorClass;
        Object failedAt;
        Object retriedAt;
        Object routingKey;
        boolean shadow;
        Map<String, JsonNode> extra;

        void extra(String key, JsonNode value) {
            if (extra == null) {
                extra = new LinkedHashMap<>();
            }
            extra.put(key, value);
        }

        Job toJob() {
            if (cls == null || cls instanceof NullNode) {
                throw new InvalidPayloadException("payload has no 'class' (the worker to run)");
            }
            if (!(cls instanceof String className) || className.isBlank()) {
                throw new InvalidPayloadException("payload 'class' must be a non-empty string, got " + quoted(cls));
            }
            if (argsJson == null && (args == null || args.isNull())) {
                throw new InvalidPayloadException("payload for class '" + className + "' has no 'args'");
            }
            if (argsJson == null) {
                throw new InvalidPayloadException(
                        "payload 'args' for class '" + className + "' must be a JSON array, got a "
                                + args.getNodeType().name().toLowerCase());
            }
            Job.Builder b = Job.builder(className).argsJson(argsJson);
            String id = text(jid, "jid");
            b.jid(id == null ? Jid.next() : id);
            String q = text(queue, "queue");
            b.queue(q == null ? Job.DEFAULT_QUEUE : q);
            Instant created = time(createdAt, "created_at");
            b.createdAt(created == null ? Instant.now() : created);
            b.enqueuedAt(time(enqueuedAt, "enqueued_at"));
            b.at(time(at, "at"));
            if (retry != null && !(retry.isBoolean() || retry.isNumber() || retry.isNull())) {
                throw new InvalidPayloadException("payload 'retry' must be a boolean or a number, got " + retry);
            }
            b.retryNode(retry);
            if (retryCount != null && !retryCount.isNull()) {
                if (!retryCount.canConvertToInt() || !retryCount.isIntegralNumber()) {
                    throw new InvalidPayloadException("payload 'retry_count' must be an integer, got " + retryCount);
                }
                b.retryCount(retryCount.intValue());
            }
            b.errorMessage(text(errorMessage, "error_message"));
            b.errorClass(text(errorClass, "error_class"));
            b.failedAt(time(failedAt, "failed_at"));
            b.retriedAt(time(retriedAt, "retried_at"));
            b.routingKey(text(routingKey, "routing_key"));
            b.shadow(shadow);
            if (extra != null) {
                extra.forEach(b::extra);
            }
            return b.build();
        }

        private static String quoted(Object value) {
            return value instanceof String s ? TextNode.valueOf(s).toString() : String.valueOf(value);
        }

        private static String text(Object value, String field) {
            if (value == null || value instanceof String) {
                return (String) value;
            }
            JsonNode n = (JsonNode) value;
            if (n.isNull()) {
                return null;
            }
            // Error messages and ids from other producers may arrive as numbers; keep their text.
            if (n.isValueNode()) {
                return n.asText();
            }
            throw new InvalidPayloadException("payload '" + field + "' must be a string, got " + n);
        }

        private static Instant time(Object value, String field) {
            if (value == null || value instanceof Instant) {
                return (Instant) value;
            }
            JsonNode n = (JsonNode) value;
            if (n.isNull()) {
                return null;
            }
            throw new InvalidPayloadException("payload '" + field + "' must be a number (epoch seconds as a float, "
                    + "or epoch milliseconds as an integer), got " + n);
        }
    }

    /** A job's own timestamps, in the generation's format; {@code at} stays float seconds in every generation. */
    private void writeStamp(JsonOut o, byte[] field, Instant t) throws IOException {
        if (t != null && timestamps == Timestamps.MILLISECONDS) {
            o.raw(field);
            o.number(t.toEpochMilli());
            return;
        }
        writeTime(o, field, t);
    }

    private static void writeTime(JsonOut o, byte[] field, Instant t) throws IOException {
        if (t != null) {
            // Microsecond precision as a float, like Ruby's Time#to_f.
            long micros = t.getNano() / 1000;
            o.raw(field);
            long seconds = t.getEpochSecond();
            if (seconds < 0) {
                o.number(BigDecimal.valueOf(seconds * 1_000_000L + micros, 6));
            } else {
                o.seconds(seconds, micros);
            }
        }
    }

    private static String preview(byte[] payload) {
        String s = new String(payload, 0, Math.min(payload.length, 80), StandardCharsets.UTF_8);
        return "'" + s + (payload.length > 80 ? "…" : "") + "'";
    }

    /** Builder for {@link JobCodec}. */
    public static final class Builder {
        private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;
        private Timestamps timestamps = Timestamps.FLOAT_SECONDS;

        private Builder() {}

        /** How timestamps are written: as the fleet's Sidekiq writes them. Default float seconds (Sidekiq 6, 7). */
        public Builder timestamps(Timestamps timestamps) {
            this.timestamps = java.util.Objects.requireNonNull(timestamps, "timestamps");
            return this;
        }

        /** Largest encoded job accepted at enqueue and at fetch. Default 1 MiB. */
        public Builder maxPayloadBytes(int maxPayloadBytes) {
            if (maxPayloadBytes < 64) {
                throw new IllegalArgumentException("maxPayloadBytes must be at least 64, got " + maxPayloadBytes);
            }
            this.maxPayloadBytes = maxPayloadBytes;
            return this;
        }

        public JobCodec build() {
            return new JobCodec(this);
        }
    }
}
