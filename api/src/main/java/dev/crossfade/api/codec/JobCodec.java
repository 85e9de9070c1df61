package dev.crossfade.api.codec;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.crossfade.api.Jid;
import dev.crossfade.api.Job;
import dev.crossfade.api.internal.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes the Sidekiq job JSON, with validation.
 *
 * <p>Timestamps are written as epoch seconds in a JSON float (what Sidekiq 6 and 7 write and Sidekiq 8 reads); on read,
 * a float is seconds and an integer is milliseconds (what Sidekiq 8 writes). Keys the envelope does not model are kept
 * in order and written back unchanged. Thread-safe and immutable.
 */
public final class JobCodec {
    /** Default payload limit: 1 MiB, below Kafka's default {@code max.message.bytes}. */
    public static final int DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

    private static final JobCodec DEFAULT = builder().build();
    private static final Set<String> KNOWN = Set.of("class", "args", "jid", "queue", "created_at", "enqueued_at", "at",
            "retry", "retry_count", "error_message", "error_class", "failed_at", "retried_at", "routing_key", "shadow");
    private static final BigDecimal BILLION = BigDecimal.valueOf(1_000_000_000L);

    private final int maxPayloadBytes;
    private final ObjectMapper mapper = Json.mapper();

    private JobCodec(Builder b) {
        this.maxPayloadBytes = b.maxPayloadBytes;
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
        ByteArrayBuilder out = new ByteArrayBuilder(256);
        try (JsonGenerator g = mapper.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("class", job.className());
            g.writeFieldName("args");
            mapper.writeTree(g, job.args());
            if (job.retry() != null) {
                g.writeFieldName("retry");
                mapper.writeTree(g, job.retry());
            }
            g.writeStringField("queue", job.queue());
            g.writeStringField("jid", job.jid());
            writeTime(g, "created_at", job.createdAt());
            writeTime(g, "enqueued_at", enqueuedAt);
            writeTime(g, "at", at);
            if (job.retryCount() != null) {
                g.writeNumberField("retry_count", job.retryCount());
            }
            if (job.errorMessage() != null) {
                g.writeStringField("error_message", job.errorMessage());
            }
            if (job.errorClass() != null) {
                g.writeStringField("error_class", job.errorClass());
            }
            writeTime(g, "failed_at", job.failedAt());
            writeTime(g, "retried_at", job.retriedAt());
            if (job.routingKey() != null) {
                g.writeStringField("routing_key", job.routingKey());
            }
            if (job.shadow()) {
                g.writeBooleanField("shadow", true);
            }
            for (Map.Entry<String, JsonNode> e : job.extra().entrySet()) {
                g.writeFieldName(e.getKey());
                mapper.writeTree(g, e.getValue());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode job " + job.jid(), e);
        }
        byte[] bytes = out.toByteArray();
        if (bytes.length > maxPayloadBytes) {
            throw new PayloadTooLargeException("job " + job.jid() + " (" + job.className() + ")", bytes.length,
                    maxPayloadBytes);
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
        JsonNode root;
        try {
            root = mapper.readTree(payload);
        } catch (JsonProcessingException e) {
            throw new InvalidPayloadException("payload is not valid JSON (" + e.getOriginalMessage() + "): "
                    + preview(payload), e);
        } catch (IOException e) {
            throw new InvalidPayloadException("payload cannot be read: " + e.getMessage(), e);
        }
        if (root == null || root.isMissingNode()) {
            throw new InvalidPayloadException("payload is empty");
        }
        if (!root.isObject()) {
            throw new InvalidPayloadException("payload is a JSON " + root.getNodeType().name().toLowerCase()
                    + ", expected an object with 'class' and 'args': " + preview(payload));
        }
        return fromObject((ObjectNode) root);
    }

    private Job fromObject(ObjectNode o) {
        JsonNode cls = o.get("class");
        if (cls == null || cls.isNull()) {
            throw new InvalidPayloadException("payload has no 'class' (the worker to run)");
        }
        if (!cls.isTextual() || cls.textValue().isBlank()) {
            throw new InvalidPayloadException("payload 'class' must be a non-empty string, got " + cls);
        }
        JsonNode args = o.get("args");
        if (args == null || args.isNull()) {
            throw new InvalidPayloadException("payload for class '" + cls.textValue() + "' has no 'args'");
        }
        if (!args.isArray()) {
            throw new InvalidPayloadException("payload 'args' for class '" + cls.textValue()
                    + "' must be a JSON array, got a " + args.getNodeType().name().toLowerCase());
        }
        Job.Builder b = Job.builder(cls.textValue()).argsNode((ArrayNode) args);
        String jid = text(o, "jid");
        b.jid(jid == null ? Jid.next() : jid);
        String queue = text(o, "queue");
        b.queue(queue == null ? Job.DEFAULT_QUEUE : queue);
        Instant created = time(o, "created_at");
        b.createdAt(created == null ? Instant.now() : created);
        b.enqueuedAt(time(o, "enqueued_at"));
        b.at(time(o, "at"));
        JsonNode retry = o.get("retry");
        if (retry != null && !(retry.isBoolean() || retry.isNumber() || retry.isNull())) {
            throw new InvalidPayloadException("payload 'retry' must be a boolean or a number, got " + retry);
        }
        b.retryNode(retry);
        JsonNode rc = o.get("retry_count");
        if (rc != null && !rc.isNull()) {
            if (!rc.canConvertToInt() || !rc.isIntegralNumber()) {
                throw new InvalidPayloadException("payload 'retry_count' must be an integer, got " + rc);
            }
            b.retryCount(rc.intValue());
        }
        b.errorMessage(text(o, "error_message"));
        b.errorClass(text(o, "error_class"));
        b.failedAt(time(o, "failed_at"));
        b.retriedAt(time(o, "retried_at"));
        b.routingKey(text(o, "routing_key"));
        JsonNode shadow = o.get("shadow");
        b.shadow(shadow != null && shadow.asBoolean(false));
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!KNOWN.contains(e.getKey())) {
                b.extra(e.getKey(), e.getValue());
            }
        }
        return b.build();
    }

    private static String text(ObjectNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            // Error messages and ids from other producers may arrive as numbers; keep their text.
            if (n.isValueNode()) {
                return n.asText();
            }
            throw new InvalidPayloadException("payload '" + field + "' must be a string, got " + n);
        }
        return n.textValue();
    }

    private static Instant time(ObjectNode o, String field) {
        JsonNode n = o.get(field);
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isNumber()) {
            throw new InvalidPayloadException("payload '" + field + "' must be a number (epoch seconds as a float, "
                    + "or epoch milliseconds as an integer), got " + n);
        }
        if (n.isIntegralNumber()) {
            return Instant.ofEpochMilli(n.longValue());
        }
        BigDecimal seconds = n.decimalValue();
        long whole = seconds.longValue();
        long nanos = seconds.subtract(BigDecimal.valueOf(whole)).multiply(BILLION).longValue();
        return Instant.ofEpochSecond(whole, nanos);
    }

    private static void writeTime(JsonGenerator g, String field, Instant t) throws IOException {
        if (t != null) {
            // Microsecond precision as a float, like Ruby's Time#to_f.
            long micros = t.getNano() / 1000;
            g.writeFieldName(field);
            long seconds = t.getEpochSecond();
            if (seconds < 0) {
                g.writeNumber(BigDecimal.valueOf(seconds * 1_000_000L + micros, 6));
                return;
            }
            // The same text as BigDecimal.valueOf(seconds * 1e6 + micros, 6), without a BigDecimal per timestamp (two
            // per job on every enqueue).
            String frac = Long.toString(1_000_000L + micros);
            g.writeNumber(seconds + "." + frac.substring(1));
        }
    }

    private static String preview(byte[] payload) {
        String s = new String(payload, 0, Math.min(payload.length, 80), StandardCharsets.UTF_8);
        return "'" + s + (payload.length > 80 ? "…" : "") + "'";
    }

    /** Builder for {@link JobCodec}. */
    public static final class Builder {
        private int maxPayloadBytes = DEFAULT_MAX_PAYLOAD_BYTES;

        private Builder() {
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
