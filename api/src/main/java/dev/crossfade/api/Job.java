package dev.crossfade.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.internal.JobAccess;
import dev.crossfade.api.internal.Json;
import dev.crossfade.api.internal.LazyBody;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A job: the Sidekiq wire envelope ({@code class}, {@code args}, {@code jid}, {@code queue}, timestamps, retry state,
 * error fields) plus any keys other producers put there, which survive every round trip untouched because Ruby code
 * and Sidekiq middleware rely on their own keys.
 *
 * <p>Immutable: state changes (a retry, an error) produce a new job through {@link #toBuilder()}. The {@link #args()}
 * node is shared, not copied, for speed; treat it as read-only.
 *
 * <p>Two keys are Crossfade's own: {@code routing_key} (Kafka record key and flag bucketing key) and {@code shadow}
 * (this copy is a shadow-mode comparison copy). Sidekiq ignores both.
 *
 * <p>A job a worker receives from a Kafka record that Crossfade wrote knows its class, jid, attempt and shadow flag
 * from the record's headers and topic, and decodes the rest of its payload on the first read of any other field. A
 * payload that proves invalid then fails that read with an {@link dev.crossfade.api.codec.InvalidPayloadException},
 * and the execution core sends the job dead with that reason, as it does a payload that fails to decode on fetch.
 */
public final class Job {
    /** Queue used when none is given, as in Sidekiq. */
    public static final String DEFAULT_QUEUE = "default";

    private final String className;
    // A decoded job keeps its args as the JSON it arrived with and builds the nodes on the first read: most workers
    // bind one or two args, and a job that is only moved or acknowledged never needs them (their tree was about a
    // fifth of a fetched job's decode).
    private volatile ArrayNode args;
    private final byte[] argsJson;
    private final String jid;
    private final String queue;
    private final Instant createdAt;
    private final Instant enqueuedAt;
    private final Instant at;
    private final JsonNode retry;
    private final Integer retryCount;
    private final String errorMessage;
    private final String errorClass;
    private final Instant failedAt;
    private final Instant retriedAt;
    private final String routingKey;
    private final boolean shadow;
    private final Map<String, JsonNode> extra;
    // Null for a job built or decoded whole; else every field but the four above it knows is read from it.
    private final LazyBody lazy;

    static {
        JobAccess.install(new JobAccess() {
            @Override
            public Job lazy(LazyBody body) {
                return new Job(body);
            }

            @Override
            public LazyBody body(Job job) {
                return job.lazy;
            }
        });
    }

    private Job(LazyBody body) {
        this.lazy = body;
        this.className = body.className();
        this.jid = body.jid();
        this.shadow = body.shadow();
        this.args = null;
        this.argsJson = null;
        this.queue = null;
        this.createdAt = null;
        this.enqueuedAt = null;
        this.at = null;
        this.retry = null;
        this.retryCount = null;
        this.errorMessage = null;
        this.errorClass = null;
        this.failedAt = null;
        this.retriedAt = null;
        this.routingKey = null;
        this.extra = Map.of();
    }

    private Job(Builder b) {
        this.lazy = null;
        this.className = requireText(b.className, "class");
        this.argsJson = b.args == null ? b.argsJson : null;
        this.args = b.args != null ? b.args : argsJson == null ? Json.mapper().createArrayNode() : null;
        this.jid = b.jid == null ? Jid.next() : requireText(b.jid, "jid");
        this.queue = b.queue == null ? DEFAULT_QUEUE : requireText(b.queue, "queue");
        this.createdAt = micros(b.createdAt == null ? Instant.now() : b.createdAt);
        this.enqueuedAt = micros(b.enqueuedAt);
        this.at = micros(b.at);
        this.retry = b.retry;
        this.retryCount = b.retryCount;
        this.errorMessage = b.errorMessage;
        this.errorClass = b.errorClass;
        this.failedAt = micros(b.failedAt);
        this.retriedAt = micros(b.retriedAt);
        this.routingKey = b.routingKey;
        this.shadow = b.shadow;
        this.extra = b.extra == null || b.extra.isEmpty()
                ? Map.of()
                : Collections.unmodifiableMap(new LinkedHashMap<>(b.extra));
    }

    /** The wire carries microseconds (a float of seconds, like Ruby's Time#to_f); hold the same so round trips are exact. */
    private static Instant micros(Instant t) {
        // Decoded timestamps are whole microseconds already: no new Instant for them (three per fetched job).
        return t == null || t.getNano() % 1000 == 0 ? t : t.truncatedTo(ChronoUnit.MICROS);
    }

    private static String requireText(String value, String field) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("job field '" + field + "' must be a non-empty string");
        }
        return value;
    }

    /** A builder for a new job of the given worker class name (a Ruby-style name such as {@code HardWorker}, or a Java name). */
    public static Builder builder(String className) {
        return new Builder().className(className);
    }

    /** A new job for {@code className} with positional args converted by Jackson. */
    public static Job of(String className, Object... args) {
        return builder(className).args(args).build();
    }

    /** A builder holding every field of this job, for deriving a changed copy. */
    public Builder toBuilder() {
        if (lazy != null) {
            return lazy.job().toBuilder();
        }
        Builder b = new Builder();
        b.className = className;
        b.args = args;
        b.argsJson = argsJson;
        b.jid = jid;
        b.queue = queue;
        b.createdAt = createdAt;
        b.enqueuedAt = enqueuedAt;
        b.at = at;
        b.retry = retry;
        b.retryCount = retryCount;
        b.errorMessage = errorMessage;
        b.errorClass = errorClass;
        b.failedAt = failedAt;
        b.retriedAt = retriedAt;
        b.routingKey = routingKey;
        b.shadow = shadow;
        if (!extra.isEmpty()) {
            b.extra = new LinkedHashMap<>(extra);
        }
        return b;
    }

    /** The worker class name ({@code class} on the wire). */
    public String className() {
        return className;
    }

    /**
     * The positional arguments ({@code args}), a JSON array. Shared, treat as read-only.
     *
     * @throws IllegalStateException when args given as JSON ({@link Builder#argsJson}) are not a well-formed array
     */
    public ArrayNode args() {
        ArrayNode a = args;
        if (a == null) {
            if (lazy != null) {
                return lazy.job().args();
            }
            // Two threads may both read it; each gets an equal tree, and either may stay.
            a = readArgs();
            args = a;
        }
        return a;
    }

    private ArrayNode readArgs() {
        try {
            if (Json.mapper().readTree(argsJson) instanceof ArrayNode array) {
                return array;
            }
        } catch (IOException e) {
            throw new IllegalStateException("args of job " + jid + " are not well-formed JSON: " + e.getMessage(), e);
        }
        throw new IllegalStateException("args of job " + jid + " are not a JSON array");
    }

    public String jid() {
        return jid;
    }

    public String queue() {
        return lazy != null ? lazy.job().queue() : queue;
    }

    public Instant createdAt() {
        return lazy != null ? lazy.job().createdAt() : createdAt;
    }

    /** When a backend last accepted the job; null before the first enqueue. */
    public Instant enqueuedAt() {
        return lazy != null ? lazy.job().enqueuedAt() : enqueuedAt;
    }

    /** Not-before time of a scheduled job; null for an immediate one. */
    public Instant at() {
        return lazy != null ? lazy.job().at() : at;
    }

    /**
     * The raw {@code retry} value: a boolean or a maximum retry count, or null when absent (which Crossfade treats as
     * {@code true}, the Sidekiq default).
     */
    public JsonNode retry() {
        return lazy != null ? lazy.job().retry() : retry;
    }

    /**
     * The retry limit this job asks for: {@code 0} when retries are off ({@code retry: false}), the given count when
     * {@code retry} is a number, otherwise {@code defaultMax}.
     */
    public int maxRetries(int defaultMax) {
        JsonNode retry = retry();
        if (retry == null || retry.isNull()) {
            return defaultMax;
        }
        if (retry.isBoolean()) {
            return retry.booleanValue() ? defaultMax : 0;
        }
        if (retry.canConvertToInt()) {
            return Math.max(0, retry.intValue());
        }
        return defaultMax;
    }

    /** Failures so far minus one, Sidekiq's convention: null before the first failure, 0 after it. */
    public Integer retryCount() {
        return lazy != null ? lazy.job().retryCount() : retryCount;
    }

    /** Which run this is: 1 for the first, 2 after one failure, and so on. */
    public int attempt() {
        if (lazy != null) {
            return lazy.attempt();
        }
        return retryCount == null ? 1 : retryCount + 2;
    }

    public String errorMessage() {
        return lazy != null ? lazy.job().errorMessage() : errorMessage;
    }

    public String errorClass() {
        return lazy != null ? lazy.job().errorClass() : errorClass;
    }

    public Instant failedAt() {
        return lazy != null ? lazy.job().failedAt() : failedAt;
    }

    public Instant retriedAt() {
        return lazy != null ? lazy.job().retriedAt() : retriedAt;
    }

    /** The caller's bucketing key (an account id, say): Kafka record key and flag context key. Null when none. */
    public String routingKey() {
        return lazy != null ? lazy.job().routingKey() : routingKey;
    }

    /** Whether this copy was enqueued for a shadow-mode comparison rather than for real. */
    public boolean shadow() {
        return shadow;
    }

    /** Keys this envelope does not model, in their original order. */
    public Map<String, JsonNode> extra() {
        return lazy != null ? lazy.job().extra() : extra;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof Job other)) {
            return false;
        }
        Job self = whole();
        Job j = other.whole();
        if (self == null || j == null) {
            // A payload that is not a valid job equals only the same payload with the same headers.
            return self == j && lazy.sameAs(other.lazy);
        }
        return self.equalFields(j);
    }

    /** This job decoded whole; null when it is a lazily decoded job whose payload is not a valid job. */
    private Job whole() {
        if (lazy == null) {
            return this;
        }
        return lazy.check() == null ? lazy.job() : null;
    }

    private boolean equalFields(Job j) {
        return shadow == j.shadow
                && className.equals(j.className)
                && args().equals(j.args())
                && jid.equals(j.jid)
                && queue.equals(j.queue)
                && Objects.equals(createdAt, j.createdAt)
                && Objects.equals(enqueuedAt, j.enqueuedAt)
                && Objects.equals(at, j.at)
                && Objects.equals(retry, j.retry)
                && Objects.equals(retryCount, j.retryCount)
                && Objects.equals(errorMessage, j.errorMessage)
                && Objects.equals(errorClass, j.errorClass)
                && Objects.equals(failedAt, j.failedAt)
                && Objects.equals(retriedAt, j.retriedAt)
                && Objects.equals(routingKey, j.routingKey)
                && extra.equals(j.extra);
    }

    @Override
    public int hashCode() {
        return jid.hashCode();
    }

    @Override
    public String toString() {
        if (lazy != null) {
            // Never decodes: printing a job must not change what becomes of it.
            Job d = lazy.decodedOrNull();
            return d != null
                    ? d.toString()
                    : "Job{" + className + " jid=" + jid + " attempt=" + lazy.attempt() + (shadow ? " shadow" : "")
                            + " (payload not decoded yet)}";
        }
        return "Job{" + className + " jid=" + jid + " queue=" + queue + (at != null ? " at=" + at : "")
                + (retryCount != null ? " retry_count=" + retryCount : "") + (shadow ? " shadow" : "") + "}";
    }

    /** Mutable builder for {@link Job}; not thread-safe. */
    public static final class Builder {
        private String className;
        private ArrayNode args;
        private byte[] argsJson;
        private String jid;
        private String queue;
        private Instant createdAt;
        private Instant enqueuedAt;
        private Instant at;
        private JsonNode retry = BooleanNode.TRUE;
        private Integer retryCount;
        private String errorMessage;
        private String errorClass;
        private Instant failedAt;
        private Instant retriedAt;
        private String routingKey;
        private boolean shadow;
        private Map<String, JsonNode> extra; // made on first use: most jobs have no unknown keys

        private Builder() {}

        public Builder className(String className) {
            this.className = className;
            return this;
        }

        /** Positional args, each converted to JSON by Jackson (records, maps, lists, numbers, strings, null). */
        public Builder args(Object... values) {
            ArrayNode node = Json.mapper().createArrayNode();
            for (Object v : values) {
                node.add(toNode(v));
            }
            this.args = node;
            this.argsJson = null;
            return this;
        }

        /** The nodes valueToTree would make, without its serialisation round trip for the common scalars. */
        private static JsonNode toNode(Object v) {
            if (v == null) {
                return NullNode.getInstance();
            } else if (v instanceof JsonNode n) {
                return n;
            } else if (v instanceof String s) {
                return TextNode.valueOf(s);
            } else if (v instanceof Integer i) {
                return IntNode.valueOf(i);
            } else if (v instanceof Long l) {
                return LongNode.valueOf(l);
            } else if (v instanceof Boolean b) {
                return BooleanNode.valueOf(b);
            }
            return Json.mapper().valueToTree(v);
        }

        /** Args as an existing JSON array (not copied). */
        public Builder argsNode(ArrayNode args) {
            this.args = Objects.requireNonNull(args, "args");
            this.argsJson = null;
            return this;
        }

        /**
         * Args as the UTF-8 JSON text of an array (not copied), turned into nodes only when {@link Job#args()} is
         * first called. For decoders that have already checked the text, as {@link
         * dev.crossfade.api.codec.JobCodec} does: a text that is not a well-formed array fails on that first read.
         *
         * @throws IllegalArgumentException when the text does not start with {@code [}
         */
        public Builder argsJson(byte[] json) {
            Objects.requireNonNull(json, "json");
            if (json.length < 2 || json[0] != '[') {
                throw new IllegalArgumentException("args JSON must be an array, got: "
                        + new String(json, 0, Math.min(json.length, 40), StandardCharsets.UTF_8));
            }
            this.argsJson = json;
            this.args = null;
            return this;
        }

        /** Sets the jid; a random one is generated when not set. */
        public Builder jid(String jid) {
            this.jid = jid;
            return this;
        }

        public Builder queue(String queue) {
            this.queue = queue;
            return this;
        }

        public Builder createdAt(Instant createdAt) {
            this.createdAt = createdAt;
            return this;
        }

        public Builder enqueuedAt(Instant enqueuedAt) {
            this.enqueuedAt = enqueuedAt;
            return this;
        }

        public Builder at(Instant at) {
            this.at = at;
            return this;
        }

        /** {@code retry: true|false}. */
        public Builder retry(boolean retry) {
            this.retry = BooleanNode.valueOf(retry);
            return this;
        }

        /** {@code retry: N}: at most N retries, then dead. */
        public Builder retry(int maxRetries) {
            this.retry = IntNode.valueOf(maxRetries);
            return this;
        }

        /** The raw {@code retry} value as read from the wire (boolean, number or null). */
        public Builder retryNode(JsonNode retry) {
            this.retry = retry;
            return this;
        }

        public Builder retryCount(Integer retryCount) {
            this.retryCount = retryCount;
            return this;
        }

        public Builder errorMessage(String errorMessage) {
            this.errorMessage = errorMessage;
            return this;
        }

        public Builder errorClass(String errorClass) {
            this.errorClass = errorClass;
            return this;
        }

        public Builder failedAt(Instant failedAt) {
            this.failedAt = failedAt;
            return this;
        }

        public Builder retriedAt(Instant retriedAt) {
            this.retriedAt = retriedAt;
            return this;
        }

        public Builder routingKey(String routingKey) {
            this.routingKey = routingKey;
            return this;
        }

        public Builder shadow(boolean shadow) {
            this.shadow = shadow;
            return this;
        }

        /** Sets a key the envelope does not model; it is written back as is. */
        public Builder extra(String key, JsonNode value) {
            if (extra == null) {
                extra = new LinkedHashMap<>();
            }
            extra.put(key, value);
            return this;
        }

        /** Removes a key the envelope does not model. */
        public Builder removeExtra(String key) {
            if (extra != null) {
                extra.remove(key);
            }
            return this;
        }

        /**
         * Builds the job, filling a random jid, the {@code default} queue and the creation time when not set.
         *
         * @throws IllegalArgumentException naming the field that is missing or empty
         */
        public Job build() {
            return new Job(this);
        }
    }
}
