package dev.crossfade.api;

/**
 * Which transport moved a job. Workers see it in their context, metrics carry it as a tag, and the router reports
 * fallbacks and shadow comparisons per backend, so it is a closed set rather than a free-form string.
 */
public enum Backend {
    /** Sidekiq-compatible lists and sorted sets in Redis. */
    REDIS,
    /** One Kafka topic per queue, consumed by a consumer group or a share group. */
    KAFKA,
    /** The in-process backend for users' own unit tests. */
    MEMORY;

    /** Lower-case name, as used in flag variations, metric tags and configuration. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /**
     * Parses a backend name case-insensitively.
     *
     * @throws IllegalArgumentException naming the bad value and the accepted ones
     */
    public static Backend parse(String value) {
        if (value != null) {
            for (Backend b : values()) {
                if (b.id().equalsIgnoreCase(value.trim())) {
                    return b;
                }
            }
        }
        throw new IllegalArgumentException("unknown backend '" + value + "': expected one of redis, kafka, memory");
    }
}
