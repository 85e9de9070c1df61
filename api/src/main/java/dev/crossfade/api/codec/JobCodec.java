package dev.crossfade.api.codec;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.SerializedString;
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
import java.io.OutputStream;
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
    // The envelope's field names, quoted and encoded once: Jackson otherwise escapes each name on every job.
    private static final SerializableString CLASS = new SerializedString("class");
    private static final SerializableString ARGS = new SerializedString("args");
    private static final SerializableString RETRY = new SerializedString("retry");
    private static final SerializableString QUEUE = new SerializedString("queue");
    private static final SerializableString JID = new SerializedString("jid");
    private static final SerializableString CREATED_AT = new SerializedString("created_at");
    private static final SerializableString ENQUEUED_AT = new SerializedString("enqueued_at");
    private static final SerializableString AT = new SerializedString("at");
    private static final SerializableString FAILED_AT = new SerializedString("failed_at");
    private static final SerializableString RETRIED_AT = new SerializedString("retried_at");

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
    /*
     * A generator per thread, kept open and writing one job after another into its own buffer: making and closing a
     * generator per job (its context, its recycled buffers taken and given back through atomic references) cost about
     * half of encoding a small job.
     */
    private final ThreadLocal<Writer> writers = ThreadLocal.withInitial(() -> new Writer(mapper));

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
        Writer w = writers.get();
        JsonGenerator g = w.generator;
        byte[] bytes = null;
        try {
            g.writeStartObject();
            g.writeFieldName(CLASS);
            g.writeString(job.className());
            g.writeFieldName(ARGS);
            g.writeStartArray();
            for (JsonNode arg : job.args()) {
                write(g, arg);
            }
            g.writeEndArray();
            if (job.retry() != null) {
                g.writeFieldName(RETRY);
                write(g, job.retry());
            }
            g.writeFieldName(QUEUE);
            g.writeString(job.queue());
            g.writeFieldName(JID);
            g.writeString(job.jid());
            writeStamp(g, CREATED_AT, job.createdAt());
            writeStamp(g, ENQUEUED_AT, enqueuedAt);
            writeTime(g, AT, at);
            if (job.retryCount() != null) {
                g.writeNumberField("retry_count", job.retryCount());
            }
            if (job.errorMessage() != null) {
                g.writeStringField("error_message", job.errorMessage());
            }
            if (job.errorClass() != null) {
                g.writeStringField("error_class", job.errorClass());
            }
            writeStamp(g, FAILED_AT, job.failedAt());
            writeStamp(g, RETRIED_AT, job.retriedAt());
            if (job.routingKey() != null) {
                g.writeStringField("routing_key", job.routingKey());
            }
            if (job.shadow()) {
                g.writeBooleanField("shadow", true);
            }
            for (Map.Entry<String, JsonNode> e : job.extra().entrySet()) {
                g.writeFieldName(e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
            g.flush();
            bytes = w.out.take();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode job " + job.jid(), e);
        } finally {
            if (bytes == null) {
                // Whatever stopped this job midway left the generator inside it: the next job gets a new one.
                writers.remove();
            }
        }
        if (bytes.length > maxPayloadBytes) {
            throw new PayloadTooLargeException(
                    "job " + job.jid() + " (" + job.className() + ")", bytes.length, maxPayloadBytes);
        }
        return bytes;
    }

    /**
     * Writes a node as the mapper would. Common scalars are written here: the mapper makes a serializer provider per
     * call, which on a no-op enqueue cost as much as writing the rest of the job.
     */
    private void write(JsonGenerator g, JsonNode n) throws IOException {
        switch (n.getNodeType()) {
            case STRING -> g.writeString(n.textValue());
            case BOOLEAN -> g.writeBoolean(n.booleanValue());
            case NULL -> g.writeNull();
            case NUMBER -> {
                switch (n.numberType()) {
                    case INT -> g.writeNumber(n.intValue());
                    case LONG -> g.writeNumber(n.longValue());
                    default -> mapper.writeTree(g, n);
                }
            }
            default -> mapper.writeTree(g, n);
        }
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
    private void writeStamp(JsonGenerator g, SerializableString field, Instant t) throws IOException {
        if (t != null && timestamps == Timestamps.MILLISECONDS) {
            g.writeFieldName(field);
            g.writeNumber(t.toEpochMilli());
            return;
        }
        writeTime(g, field, t);
    }

    private static void writeTime(JsonGenerator g, SerializableString field, Instant t) throws IOException {
        if (t != null) {
            // Microsecond precision as a float, like Ruby's Time#to_f.
            long micros = t.getNano() / 1000;
            g.writeFieldName(field);
            long seconds = t.getEpochSecond();
            if (seconds < 0) {
                g.writeNumber(BigDecimal.valueOf(seconds * 1_000_000L + micros, 6));
                return;
            }
            // The same text as BigDecimal.valueOf(seconds * 1e6 + micros, 6), written without a BigDecimal or a string
            // (two timestamps per job on every enqueue).
            char[] text = new char[26];
            int pos = text.length;
            for (int i = 0; i < 6; i++) {
                text[--pos] = (char) ('0' + micros % 10);
                micros /= 10;
            }
            text[--pos] = '.';
            do {
                text[--pos] = (char) ('0' + seconds % 10);
                seconds /= 10;
            } while (seconds > 0);
            g.writeNumber(text, pos, text.length - pos);
        }
    }

    /** A thread's open generator and the buffer it writes into; jobs are taken out of the buffer one at a time. */
    private static final class Writer {
        final Buffer out = new Buffer();
        final JsonGenerator generator;

        Writer(ObjectMapper mapper) {
            try {
                generator = mapper.getFactory().createGenerator(out);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            // Each job is a root value of its own: no separator between them.
            generator.setRootValueSeparator(null);
        }
    }

    /** An output stream over one array, emptied by {@link #take()}. */
    private static final class Buffer extends OutputStream {
        // A thread that once encoded a large job does not keep that much memory.
        private static final int KEPT = 64 * 1024;
        private byte[] bytes = new byte[1024];
        private int count;

        @Override
        public void write(int b) {
            room(1);
            bytes[count++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            room(len);
            System.arraycopy(b, off, bytes, count, len);
            count += len;
        }

        private void room(int n) {
            if (bytes.length - count < n) {
                bytes = Arrays.copyOf(bytes, Math.max(count + n, bytes.length * 2));
            }
        }

        byte[] take() {
            byte[] taken = Arrays.copyOf(bytes, count);
            count = 0;
            if (bytes.length > KEPT) {
                bytes = new byte[1024];
            }
            return taken;
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
