package dev.crossfade.devservices;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * A per-test prefix for Redis keys, Kafka topics and consumer/share groups. Tests share one Redis and one Kafka per JVM
 * for speed; this is what keeps them from seeing each other's queues, offsets and leftovers, even when run in parallel
 * or re-run against a server that still holds data from the last run.
 *
 * <p>A value looks like {@code t3f9a1c0b-retriesFailedJob}: {@code t}, eight random hex digits (unique within the JVM),
 * and a readable hint. It only contains {@code [a-zA-Z0-9.-]} and is at most {@value #MAX_LENGTH} characters, so it is a
 * legal Kafka topic prefix and a harmless Redis key prefix. Immutable.
 */
public final class TestNamespace {
    /** Longest value; leaves room in Kafka's 249-character topic limit for a suffix. */
    public static final int MAX_LENGTH = 60;

    private static final Pattern VALID = Pattern.compile("[a-zA-Z0-9.-]{1," + MAX_LENGTH + "}");
    private static final Pattern TOPIC_SUFFIX = Pattern.compile("[a-zA-Z0-9._-]+");
    private static final Set<String> ISSUED = ConcurrentHashMap.newKeySet();

    private final String value;

    private TestNamespace(String value) {
        this.value = value;
    }

    /**
     * A fresh namespace, distinct from every other one this JVM handed out.
     *
     * @param hint readable part, typically the test method name; illegal characters become {@code -}, and it is cut to
     *     fit {@link #MAX_LENGTH}; may be empty
     */
    public static TestNamespace random(String hint) {
        String readable = sanitize(Objects.requireNonNull(hint, "hint"));
        while (true) {
            String prefix = "t"
                    + String.format(
                            Locale.ROOT, "%08x", ThreadLocalRandom.current().nextInt());
            String value = readable.isEmpty() ? prefix : prefix + "-" + readable;
            if (value.length() > MAX_LENGTH) {
                value = trimEnd(value.substring(0, MAX_LENGTH));
            }
            if (ISSUED.add(prefix)) {
                return new TestNamespace(value);
            }
        }
    }

    /**
     * Wraps a namespace value chosen elsewhere (e.g. by a demo), after checking it follows the same rules.
     *
     * @throws IllegalArgumentException if it is empty, too long or has characters outside {@code [a-zA-Z0-9.-]}
     */
    public static TestNamespace of(String value) {
        if (value == null || !VALID.matcher(value).matches()) {
            throw new IllegalArgumentException(
                    "a namespace is 1-" + MAX_LENGTH + " characters of [a-zA-Z0-9.-]: " + value);
        }
        return new TestNamespace(value);
    }

    /** The prefix itself. */
    public String value() {
        return value;
    }

    /** A Redis key in this namespace: {@code value:part1:part2...}. */
    public String key(String... parts) {
        StringBuilder sb = new StringBuilder(value);
        for (String p : parts) {
            sb.append(':').append(Objects.requireNonNull(p, "part"));
        }
        return sb.toString();
    }

    /**
     * A Kafka topic name in this namespace: {@code value.name}.
     *
     * @throws IllegalArgumentException if {@code name} has characters Kafka does not allow in topic names
     */
    public String topic(String name) {
        if (name == null || !TOPIC_SUFFIX.matcher(name).matches()) {
            throw new IllegalArgumentException("not a legal Kafka topic suffix: " + name);
        }
        String topic = value + "." + name;
        if (topic.length() > 249) {
            throw new IllegalArgumentException("topic name longer than 249 characters: " + topic);
        }
        return topic;
    }

    /** A consumer-group or share-group id in this namespace: {@code value.name}. */
    public String group(String name) {
        return value + "." + Objects.requireNonNull(name, "name");
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TestNamespace && ((TestNamespace) o).value.equals(value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    /** The value, so a namespace can be concatenated directly. */
    @Override
    public String toString() {
        return value;
    }

    private static String sanitize(String hint) {
        String s = hint.replaceAll("[^a-zA-Z0-9.-]+", "-").replaceAll("-{2,}", "-");
        return trimEnd(s.replaceAll("^[.-]+", ""));
    }

    private static String trimEnd(String s) {
        return s.replaceAll("[.-]+$", "");
    }
}
