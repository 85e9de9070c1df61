package dev.crossfade.api.worker;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.internal.Json;
import java.util.Objects;

/**
 * A job's positional args with typed access through Jackson. Binding never uses default typing: the target type
 * always comes from the worker's code, never from the payload.
 */
public final class JobArgs {
    // Exactly one is set: a job's args are read (and kept) by the job itself on the first call to raw().
    private final Job job;
    private final ArrayNode args;

    public JobArgs(ArrayNode args) {
        this.job = null;
        this.args = Objects.requireNonNull(args, "args");
    }

    private JobArgs(Job job) {
        this.job = job;
        this.args = null;
    }

    /** The args of {@code job}, read from its JSON only when the worker first asks for them ({@link Job#args()}). */
    public static JobArgs of(Job job) {
        return new JobArgs(Objects.requireNonNull(job, "job"));
    }

    /** The raw JSON array (shared, treat as read-only). */
    public ArrayNode raw() {
        return job != null ? job.args() : args;
    }

    public int size() {
        return raw().size();
    }

    /**
     * The arg at {@code index} as JSON.
     *
     * @throws IllegalArgumentException when there is no such arg
     */
    public JsonNode get(int index) {
        ArrayNode a = raw();
        if (index < 0 || index >= a.size()) {
            throw new IllegalArgumentException("job has " + a.size() + " args, no arg at index " + index);
        }
        return a.get(index);
    }

    /**
     * The arg at {@code index} bound to {@code type}.
     *
     * @throws IllegalArgumentException naming the index and type when binding fails
     */
    public <T> T get(int index, Class<T> type) {
        JsonNode node = get(index);
        try {
            return Json.mapper().treeToValue(node, type);
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "arg " + index + " cannot be read as " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    /** The arg at {@code index} bound to a generic type such as {@code List<Order>}. */
    public <T> T get(int index, TypeReference<T> type) {
        JsonNode node = get(index);
        try {
            return Json.mapper().readerFor(type).readValue(node);
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "arg " + index + " cannot be read as " + type.getType() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The whole args array bound to {@code type}: a {@code List}, an array, or a record annotated
     * {@code @JsonFormat(shape = ARRAY)} whose components are the positional args.
     */
    public <T> T as(Class<T> type) {
        try {
            return Json.mapper().treeToValue(raw(), type);
        } catch (Exception e) {
            throw new IllegalArgumentException(
                    "args cannot be read as " + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return raw().toString();
    }
}
