package dev.crossfade.api.activejob;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.internal.Json;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * Rails' Active Job on Sidekiq, both ways.
 *
 * <p><b>Running Rails' jobs in Java.</b> Active Job's Sidekiq adapter enqueues a job of class
 * {@value #WRAPPER} (before Sidekiq 7.3: {@value #LEGACY_WRAPPER}) with {@code wrapped} naming the Active Job class and
 * the serialized job ({@code job_class}, {@code job_id}, {@code arguments}, {@code executions}, {@code locale}...) as its
 * only arg. The execution core runs such a job on the worker registered under the {@code job_class} name (unless a
 * worker is registered under the wrapper's own name), with the Active Job arguments as its args, bound as plain
 * values ({@link #arguments}). Retries, the dead set and the Web UI see the wrapper job, as with Ruby.
 *
 * <p>What of Active Job's argument serialization is read (Rails 7.2/8, {@code active_job/arguments.rb}):
 * <ul>
 *   <li>strings, numbers, booleans, nil, arrays: as they are;</li>
 *   <li>hashes: their {@code _aj_symbol_keys}, {@code _aj_ruby2_keywords} and
 *   {@code _aj_hash_with_indifferent_access} markers are dropped, leaving a plain map (keyword arguments arrive as a
 *   map, the last arg);</li>
 *   <li>GlobalID ({@code {"_aj_globalid": "gid://app/User/1"}}): the URI string;</li>
 *   <li>objects of Active Job's serializers ({@code _aj_serialized}: symbols, times, dates, durations, big decimals,
 *   ranges...): a symbol, time, date, time with zone and big decimal arrive as their {@code value} (a string, or a
 *   number); any other arrives as its map without the {@code _aj_serialized} key.</li>
 * </ul>
 * Nothing here loads a class named by a payload.
 *
 * <p><b>Enqueuing Rails' jobs from Java.</b> {@link #job} builds the job Active Job's Sidekiq adapter writes for
 * {@code SomeJob.perform_later(args...)}, so a Java service can enqueue into a Rails app's queues.
 */
public final class ActiveJob {
    /** The wrapper class Active Job's Sidekiq adapter enqueues (Sidekiq 7.3 and later). */
    public static final String WRAPPER = "Sidekiq::ActiveJob::Wrapper";
    /** The wrapper class of Rails' own Sidekiq adapter (Rails 7.1 and older, Sidekiq before 7.3). */
    public static final String LEGACY_WRAPPER = "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper";

    private static final Set<String> HASH_MARKERS =
            Set.of("_aj_symbol_keys", "_aj_ruby2_keywords", "_aj_hash_with_indifferent_access");
    private static final Set<String> VALUE_SERIALIZERS = Set.of(
            "ActiveJob::Serializers::SymbolSerializer",
            "ActiveJob::Serializers::TimeSerializer",
            "ActiveJob::Serializers::DateTimeSerializer",
            "ActiveJob::Serializers::DateSerializer",
            "ActiveJob::Serializers::TimeWithZoneSerializer",
            "ActiveJob::Serializers::BigDecimalSerializer",
            "ActiveJob::Serializers::ModuleSerializer");
    private static final DateTimeFormatter ISO_NANOS =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'").withZone(ZoneOffset.UTC);
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private ActiveJob() {}

    /** Whether {@code className} is one of Active Job's Sidekiq wrappers. */
    public static boolean isWrapper(String className) {
        return WRAPPER.equals(className) || LEGACY_WRAPPER.equals(className);
    }

    /**
     * The Active Job class a wrapper job runs: {@code args[0].job_class}, else {@code wrapped}. Empty when the job is
     * not a well-formed Active Job job.
     */
    public static Optional<String> jobClass(Job job) {
        if (!isWrapper(job.className())
                || job.args().size() < 1
                || !job.args().get(0).isObject()) {
            return Optional.empty();
        }
        JsonNode cls = job.args().get(0).get("job_class");
        if (cls == null || !cls.isTextual()) {
            cls = job.extra().get("wrapped");
        }
        return cls != null && cls.isTextual() && !cls.textValue().isBlank()
                ? Optional.of(cls.textValue())
                : Optional.empty();
    }

    /** The Active Job arguments of a wrapper job as plain values (see the class comment); empty when there are none. */
    public static ArrayNode arguments(Job job) {
        JsonNode data = job.args().size() > 0 ? job.args().get(0) : null;
        JsonNode args = data == null ? null : data.get("arguments");
        ArrayNode out = NODES.arrayNode();
        if (args != null && args.isArray()) {
            args.forEach(a -> out.add(plain(a)));
        }
        return out;
    }

    private static JsonNode plain(JsonNode n) {
        if (n.isArray()) {
            ArrayNode a = NODES.arrayNode();
            n.forEach(e -> a.add(plain(e)));
            return a;
        }
        if (!n.isObject()) {
            return n;
        }
        JsonNode gid = n.get("_aj_globalid");
        if (gid != null && gid.isTextual() && n.size() == 1) {
            return gid;
        }
        JsonNode serializer = n.get("_aj_serialized");
        if (serializer != null && serializer.isTextual()) {
            JsonNode value = n.get("value");
            if (VALUE_SERIALIZERS.contains(serializer.textValue()) && value != null) {
                return value;
            }
        }
        ObjectNode o = NODES.objectNode();
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!HASH_MARKERS.contains(e.getKey()) && !"_aj_serialized".equals(e.getKey())) {
                o.set(e.getKey(), plain(e.getValue()));
            }
        }
        return o;
    }

    /**
     * Starts the job Active Job's Sidekiq adapter writes for {@code jobClass.perform_later(args...)}: class
     * {@value #WRAPPER} (or, see {@link Builder#wrapper}, the older name), {@code wrapped} the job class, {@code retry: true}, and the serialized job as the only arg,
     * field for field as Rails' {@code ActiveJob::Core#serialize} (job_id a new UUID, queue_name, priority,
     * arguments with maps marked as string-keyed hashes, executions 0, exception_executions {}, locale, timezone,
     * enqueued_at, scheduled_at).
     */
    public static Builder job(String jobClass) {
        return new Builder(jobClass);
    }

    /** Builder of an Active Job job; {@link #build} gives the Sidekiq job to enqueue. */
    public static final class Builder {
        private final String jobClass;
        private String queue = Job.DEFAULT_QUEUE;
        private Integer priority;
        private ArrayNode arguments = NODES.arrayNode();
        private String locale = "en";
        private String timezone = "UTC";
        private String jobId = UUID.randomUUID().toString();
        private Instant scheduledAt;
        private String wrapper = WRAPPER;

        private Builder(String jobClass) {
            if (jobClass == null || jobClass.isBlank()) {
                throw new IllegalArgumentException("jobClass must name the Active Job class, got '" + jobClass + "'");
            }
            this.jobClass = jobClass;
        }

        /**
         * The job's arguments: strings, numbers, booleans, null, lists and maps with string keys (converted to JSON by
         * Jackson). A map becomes a Ruby Hash with string keys; pass a GlobalID as its URI string.
         */
        public Builder args(Object... values) {
            ArrayNode a = NODES.arrayNode();
            for (Object v : values) {
                a.add(serialize(Json.mapper().valueToTree(v)));
            }
            this.arguments = a;
            return this;
        }

        /** Active Job's {@code queue_name}; also the Sidekiq queue. Default {@code default}. */
        public Builder queue(String queue) {
            this.queue = Objects.requireNonNull(queue, "queue");
            return this;
        }

        public Builder priority(Integer priority) {
            this.priority = priority;
            return this;
        }

        /** {@code I18n.locale} the job runs with; default {@code en}. */
        public Builder locale(String locale) {
            this.locale = Objects.requireNonNull(locale, "locale");
            return this;
        }

        /** {@code Time.zone} name the job runs with; default {@code UTC} (Rails' default {@code config.time_zone}). */
        public Builder timezone(String timezone) {
            this.timezone = timezone;
            return this;
        }

        /**
         * The wrapper class written: {@value #WRAPPER} (default; Rails 7.2+ with Sidekiq 7.3+, whose adapter also runs
         * the older name) or {@value #LEGACY_WRAPPER}, what a fleet on Sidekiq 6 or 7 before 7.3 writes and reads.
         */
        public Builder wrapper(String wrapper) {
            if (!isWrapper(wrapper)) {
                throw new IllegalArgumentException(
                        "wrapper must be " + WRAPPER + " or " + LEGACY_WRAPPER + ", got '" + wrapper + "'");
            }
            this.wrapper = wrapper;
            return this;
        }

        public Builder jobId(String jobId) {
            this.jobId = Objects.requireNonNull(jobId, "jobId");
            return this;
        }

        /** For {@code set(wait_until:)}: recorded as {@code scheduled_at}; enqueue the job at this time too. */
        public Builder scheduledAt(Instant scheduledAt) {
            this.scheduledAt = scheduledAt;
            return this;
        }

        public Job build() {
            ObjectNode data = NODES.objectNode();
            data.put("job_class", jobClass);
            data.put("job_id", jobId);
            data.putNull("provider_job_id");
            data.put("queue_name", queue);
            if (priority == null) {
                data.putNull("priority");
            } else {
                data.put("priority", priority);
            }
            data.set("arguments", arguments);
            data.put("executions", 0);
            data.putObject("exception_executions");
            data.put("locale", locale);
            if (timezone == null) {
                data.putNull("timezone");
            } else {
                data.put("timezone", timezone);
            }
            data.put("enqueued_at", ISO_NANOS.format(Instant.now()));
            if (scheduledAt == null) {
                data.putNull("scheduled_at");
            } else {
                data.put("scheduled_at", ISO_NANOS.format(scheduledAt));
            }
            return Job.builder(wrapper)
                    .argsNode(NODES.arrayNode().add(data))
                    .queue(queue)
                    .retry(true)
                    .at(scheduledAt)
                    .extra("wrapped", TextNode.valueOf(jobClass))
                    .build();
        }

        /** Maps get Rails' marker for a Hash whose keys are all strings, nested values likewise. */
        private static JsonNode serialize(JsonNode n) {
            if (n.isArray()) {
                ArrayNode a = NODES.arrayNode();
                n.forEach(e -> a.add(serialize(e)));
                return a;
            }
            if (n.isObject()) {
                ObjectNode o = NODES.objectNode();
                n.fields().forEachRemaining(e -> o.set(e.getKey(), serialize(e.getValue())));
                o.putArray("_aj_symbol_keys");
                return o;
            }
            return n;
        }
    }
}
