package dev.crossfade.kafka.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Topic names and on-demand topic creation. Internal: not part of the API.
 *
 * <p>Queue {@code q} under prefix {@code p}: jobs in {@code p.q}, shadow copies in {@code p.q.shadow} (which only
 * Crossfade workers consume, so no other consumer of {@code p.q} ever sees one), dead letters in {@code p.q.dlq},
 * scheduled jobs and retries in the delay tiers {@code p.q.delay.<tier>}. All of a queue's topics are created together in one Admin call
 * (one controller round trip) and remembered, so the hot path never talks to Admin after the first job. Topics that
 * exist already are used as they are.
 */
public final class Topics {
    private static final Pattern QUEUE_NAME = Pattern.compile("[A-Za-z0-9._-]+");
    private static final String SHADOW_SUFFIX = ".shadow";
    private final Admin admin;
    private final String prefix;
    private final Map<String, String> queueNames = new ConcurrentHashMap<>();
    private final Map<String, String> jobTopics = new ConcurrentHashMap<>();
    private final boolean create;
    private final Settings settings;
    private final List<Duration> tiers;
    private final Duration timeout;
    // Queues whose topics are known to exist: the hot path checks this map only.
    private final Set<String> ready = ConcurrentHashMap.newKeySet();
    /** One check or creation at a time; a lock rather than a monitor so a caller's deadline bounds the wait for it. */
    private final ReentrantLock creating = new ReentrantLock();

    public Topics(
            Admin admin, String prefix, boolean create, Settings settings, List<Duration> tiers, Duration timeout) {
        this.admin = admin;
        this.prefix = prefix;
        this.create = create;
        this.settings = settings;
        this.tiers = List.copyOf(tiers);
        this.timeout = timeout;
    }

    /** What a queue's topic holds. */
    public enum Kind {
        JOBS,
        DLQ,
        DELAY
    }

    /** The kind of one of {@code queue}'s topics. */
    public Kind kind(String queue, String topic) {
        return topic.equals(dlq(queue))
                ? Kind.DLQ
                : topic.equals(jobs(queue)) || topic.equals(shadow(queue)) ? Kind.JOBS : Kind.DELAY;
    }

    /**
     * How topics are created (see {@code KafkaBackendConfig} for each setting).
     *
     * @param replication    empty: the broker's default
     * @param maxRecordBytes the producers' {@code max.request.size}: no record the backend writes is larger
     */
    public record Settings(
            int partitions,
            Optional<Short> replication,
            Duration dlqRetention,
            Duration delayRetention,
            int maxRecordBytes) {
        /** Kafka's default {@code max.request.size}, which the brokers' default {@code message.max.bytes} admits. */
        private static final int KAFKA_DEFAULT_REQUEST_SIZE = 1024 * 1024;

        /**
         * The configs a new topic gets: {@code min.insync.replicas} of min(2, replication − 1) when replication is set
         * to 2 or more (so an acknowledged job has a second copy without one broker's outage stopping writes; at the
         * broker's default replication the broker's setting stands), {@code retention.ms} on DLQ and delay topics,
         * and {@code max.message.bytes} when the producers may send more than Kafka's default admits.
         */
        public Map<String, String> configs(Kind kind) {
            Map<String, String> c = new LinkedHashMap<>();
            replication
                    .filter(r -> r >= 2)
                    .ifPresent(r -> c.put("min.insync.replicas", Integer.toString(Math.min(2, r - 1))));
            switch (kind) {
                case DLQ -> c.put("retention.ms", Long.toString(dlqRetention.toMillis()));
                case DELAY -> c.put("retention.ms", Long.toString(delayRetention.toMillis()));
                case JOBS -> {
                    // The broker's retention: jobs are consumed long before it matters.
                }
            }
            if (maxRecordBytes > KAFKA_DEFAULT_REQUEST_SIZE) {
                c.put("max.message.bytes", Integer.toString(maxRecordBytes));
            }
            return c;
        }
    }

    /**
     * Checks a queue name: it becomes part of topic names, and must not be mistaken for another queue's dead-letter or
     * delay topic.
     */
    public static String checkQueue(String queue) {
        if (queue == null || queue.isEmpty() || !QUEUE_NAME.matcher(queue).matches()) {
            throw new IllegalArgumentException("queue name '" + queue + "' is not usable in a Kafka topic name: only "
                    + "[A-Za-z0-9._-] are allowed");
        }
        if (queue.endsWith(".dlq") || queue.endsWith(SHADOW_SUFFIX) || queue.contains(".delay.")) {
            throw new IllegalArgumentException("queue name '" + queue + "' would clash with dead-letter, shadow or "
                    + "delay topics (it ends in .dlq or .shadow, or contains .delay.)");
        }
        return queue;
    }

    public String prefix() {
        return prefix;
    }

    public List<Duration> tiers() {
        return tiers;
    }

    public String jobs(String queue) {
        // Asked for every enqueued record: one String per queue keeps its hash, which the producer's maps use.
        return jobTopics.computeIfAbsent(queue, q -> prefix + "." + q);
    }

    /** Shadow copies of the queue's jobs: a topic of their own, consumed by Crossfade workers only. */
    public String shadow(String queue) {
        return jobs(queue) + SHADOW_SUFFIX;
    }

    /** Whether a topic holds shadow copies. */
    public static boolean isShadow(String topic) {
        return topic.endsWith(SHADOW_SUFFIX);
    }

    public String dlq(String queue) {
        return jobs(queue) + ".dlq";
    }

    public String delay(String queue, Duration tier) {
        return jobs(queue) + ".delay." + tierName(tier);
    }

    /** The queue of a jobs (or shadow) topic name, or the topic itself if it does not carry the prefix. */
    public String queueOf(String jobsTopic) {
        // Asked for every fetched record; topics are few, so remember the answer rather than cut a new string.
        return queueNames.computeIfAbsent(jobsTopic, t -> {
            String q = t.startsWith(prefix + ".") ? t.substring(prefix.length() + 1) : t;
            return isShadow(q) ? q.substring(0, q.length() - SHADOW_SUFFIX.length()) : q;
        });
    }

    /** Every topic of a queue. */
    public List<String> all(String queue) {
        List<String> names = new ArrayList<>();
        names.add(jobs(queue));
        names.add(shadow(queue));
        names.add(dlq(queue));
        for (Duration t : tiers) {
            names.add(delay(queue, t));
        }
        return names;
    }

    /** The delay tier topics of a queue. */
    public List<String> delayTopics(String queue) {
        List<String> names = new ArrayList<>();
        for (Duration t : tiers) {
            names.add(delay(queue, t));
        }
        return names;
    }

    /**
     * The tier a job with {@code remainingMillis} to wait goes to: the largest tier not longer than the remaining
     * delay, or the smallest tier when the delay is shorter than all of them.
     */
    public Duration tierFor(long remainingMillis) {
        Duration chosen = tiers.get(0);
        for (Duration t : tiers) {
            if (t.toMillis() <= remainingMillis) {
                chosen = t;
            }
        }
        return chosen;
    }

    static String tierName(Duration d) {
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0) {
            return (ms / 3_600_000) + "h";
        }
        if (ms % 60_000 == 0) {
            return (ms / 60_000) + "m";
        }
        if (ms % 1000 == 0) {
            return (ms / 1000) + "s";
        }
        return ms + "ms";
    }

    /**
     * Makes sure every topic of {@code queue} exists: creates the missing ones, or in strict mode fails naming them.
     *
     * @throws MissingTopicException in strict mode, naming the missing topic(s)
     * @throws IllegalStateException  when Admin cannot answer within the timeout
     */
    public void ensure(String queue) {
        ensure(queue, Long.MAX_VALUE);
    }

    /**
     * As {@link #ensure(String)}, ending by {@code by} ({@link System#nanoTime()}; {@code Long.MAX_VALUE} for none) or
     * the backend's timeout, whichever comes first: waiting for another thread's creation of topics counts too.
     *
     * @throws TopicTimeoutException when {@code by} came before the topics were known to exist
     */
    public void ensure(String queue, long by) {
        if (ready.contains(queue)) {
            return;
        }
        long own = System.nanoTime() + timeout.toNanos();
        // Long.MAX_VALUE: no deadline of the caller's (compared as a flag: nanoTime values may overflow on
        // subtraction).
        boolean callers = by != Long.MAX_VALUE && by - own <= 0;
        long deadline = callers ? by : own;
        try {
            if (!creating.tryLock(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
                throw new TopicTimeoutException("no time left while another call checked or created " + all(queue));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while checking topics " + all(queue), e);
        }
        try {
            if (ready.contains(queue)) {
                return;
            }
            List<String> wanted = all(queue);
            try {
                Set<String> existing = admin.listTopics().names().get(left(deadline), TimeUnit.NANOSECONDS);
                List<String> missing =
                        wanted.stream().filter(t -> !existing.contains(t)).toList();
                if (!missing.isEmpty()) {
                    if (!create) {
                        throw new MissingTopicException(missing);
                    }
                    List<NewTopic> topics = missing.stream()
                            .map(t -> new NewTopic(t, Optional.of(settings.partitions()), settings.replication())
                                    .configs(settings.configs(kind(queue, t))))
                            .toList();
                    try {
                        admin.createTopics(topics).all().get(left(deadline), TimeUnit.NANOSECONDS);
                    } catch (ExecutionException e) {
                        // Another process may have created them between the list and the create: that is fine.
                        if (!(e.getCause() instanceof TopicExistsException)) {
                            throw e;
                        }
                    }
                    awaitLeaders(missing, deadline);
                }
            } catch (ExecutionException e) {
                throw new IllegalStateException(
                        "cannot check or create topics " + wanted + ": " + e.getCause(), e.getCause());
            } catch (TimeoutException e) {
                if (callers) {
                    throw new TopicTimeoutException(
                            "Kafka Admin did not answer in the time left while checking topics " + wanted);
                }
                throw new IllegalStateException(
                        "Kafka Admin did not answer within " + timeout + " while checking " + "topics " + wanted, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while checking topics " + wanted, e);
            }
            ready.add(queue);
        } finally {
            creating.unlock();
        }
    }

    /** Nanoseconds left until {@code deadline}; at least 1, so a spent deadline times out rather than waits. */
    private static long left(long deadline) {
        return Math.max(1, deadline - System.nanoTime());
    }

    /**
     * Waits until every partition of the new topics has a leader. Producing to a partition the broker has not
     * loaded yet gets NOT_LEADER_OR_FOLLOWER, and an idempotent producer's retries of those first batches can then
     * stall on OUT_OF_ORDER_SEQUENCE_NUMBER until the delivery timeout (KAFKA-14359, seen with Kafka 4.4 on fresh topics).
     */
    private void awaitLeaders(List<String> names, long deadline)
            throws InterruptedException, ExecutionException, TimeoutException {
        for (; ; ) {
            boolean ready = true;
            try {
                for (var d : admin.describeTopics(names)
                        .allTopicNames()
                        .get(left(deadline), TimeUnit.NANOSECONDS)
                        .values()) {
                    for (var p : d.partitions()) {
                        if (p.leader() == null || p.leader().isEmpty()) {
                            ready = false;
                        }
                    }
                }
            } catch (ExecutionException e) {
                // UnknownTopicOrPartition right after creation: not visible yet.
                ready = false;
            }
            if (ready) {
                // Metadata can name a leader before that broker's replica manager has loaded the partition.
                // ListOffsets is answered by the replica manager itself, so its success means produce works too.
                java.util.Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> specs =
                        new java.util.HashMap<>();
                for (var d : admin.describeTopics(names)
                        .allTopicNames()
                        .get(left(deadline), TimeUnit.NANOSECONDS)
                        .values()) {
                    d.partitions()
                            .forEach(p -> specs.put(
                                    new org.apache.kafka.common.TopicPartition(d.name(), p.partition()),
                                    org.apache.kafka.clients.admin.OffsetSpec.latest()));
                }
                try {
                    admin.listOffsets(specs).all().get(left(deadline), TimeUnit.NANOSECONDS);
                    return;
                } catch (ExecutionException e) {
                    // not loaded yet: try again
                }
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new TimeoutException("partitions of " + names + " have no leader in time");
            }
            Thread.sleep(20);
        }
    }

    /** The caller's time ran out before a queue's topics were known to exist; they may exist by the next call. */
    public static final class TopicTimeoutException extends RuntimeException {
        TopicTimeoutException(String message) {
            super(message);
        }
    }

    /** A topic this backend needs does not exist and may not be created (strict mode). */
    public static final class MissingTopicException extends RuntimeException {
        public MissingTopicException(List<String> topics) {
            super("topic" + (topics.size() > 1 ? "s " : " ") + String.join(", ", topics) + " do"
                    + (topics.size() > 1 ? "" : "es") + " not exist and createTopics is off (strict mode): create "
                    + (topics.size() > 1 ? "them" : "it") + " first");
        }
    }
}
