package dev.crossfade.kafka;

import dev.crossfade.api.JobQueue;
import dev.crossfade.api.Transferred;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.ClientProperties;
import dev.crossfade.kafka.internal.LagMonitor;
import dev.crossfade.kafka.internal.OutcomeWriter;
import dev.crossfade.kafka.internal.QueueTransfer;
import dev.crossfade.kafka.internal.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * The Kafka backend for operators, beside {@code RedisAdmin}: partition lag, the dead-letter topics (listing and
 * replay), and moving a queue's waiting jobs to another backend. Obtained from {@link KafkaBackend#admin()}; uses the
 * backend's clients and is closed with it. Thread-safe.
 */
public final class KafkaAdmin {
    private final KafkaBackendConfig config;
    private final ClientProperties clients;
    private final Topics topics;
    private final Admin admin;
    private final OutcomeWriter outcomes;
    private final LagMonitor lag;
    private final KafkaJobQueue queue;

    KafkaAdmin(
            KafkaBackendConfig config,
            ClientProperties clients,
            Topics topics,
            Admin admin,
            OutcomeWriter outcomes,
            LagMonitor lag,
            KafkaJobQueue queue) {
        this.config = config;
        this.clients = clients;
        this.topics = topics;
        this.admin = admin;
        this.outcomes = outcomes;
        this.lag = lag;
        this.queue = queue;
    }

    /**
     * Properties for an admin client of a health check's own, kept apart from the backend's so a check fails within
     * about {@code timeout} instead of waiting out the longer timeouts of the backend's clients: {@code bootstrap},
     * {@code clientProperties} (e.g. {@code security.protocol}, {@code sasl.*}, {@code ssl.*}), client id
     * {@code crossfade-health}, request and API timeouts of {@code timeout} (at least 100 ms), connection set-up and
     * reconnect back-off of at most a second.
     *
     * @return a new mutable map, for {@code Admin.create}
     */
    public static Map<String, Object> healthCheckProperties(
            String bootstrap, Map<String, ?> clientProperties, Duration timeout) {
        int ms = (int) Math.max(100, timeout.toMillis());
        Map<String, Object> p = new HashMap<>(clientProperties);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, Objects.requireNonNull(bootstrap, "bootstrap"));
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "crossfade-health");
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, ms);
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, Math.min(ms, 1000));
        p.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, Math.min(ms, 1000));
        p.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 1000);
        return p;
    }

    /** Lag of every partition of the queue's topic for the configured group. */
    public List<PartitionLag> lag(String queue) {
        return lag.lag(Topics.checkQueue(queue));
    }

    /** Up to {@code max} records of the queue's dead-letter topic, oldest first. */
    public List<DeadLetter> deadLetters(String queue, int max) {
        String topic = topics.dlq(Topics.checkQueue(queue));
        List<DeadLetter> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(clients.reader())) {
            List<TopicPartition> tps = partitions(c, topic);
            if (tps.isEmpty()) {
                return out;
            }
            readToEnd(c, tps, r -> {
                if (out.size() < max) {
                    out.add(deadLetter(r));
                }
                return out.size() < max;
            });
        }
        return out;
    }

    /**
     * Re-enqueues the dead jobs of a queue that were not replayed before, with a fresh retry budget (error fields
     * kept for history). Progress is committed in the consumer group {@code <groupId>.dlq-replay}, so running it
     * twice does not replay a job twice. Envelopes of undecodable payloads and truncated envelopes
     * ({@value DeadLetter#TRUNCATED_JOB_CLASS}) are skipped: they hold no job to run.
     *
     * @return how many jobs were re-enqueued
     */
    public int replayDeadLetters(String queue) {
        String topic = topics.dlq(Topics.checkQueue(queue));
        Map<String, Object> props = clients.reader();
        props.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId() + ".dlq-replay");
        AtomicInteger replayed = new AtomicInteger();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(props)) {
            List<TopicPartition> tps = partitions(c, topic);
            if (tps.isEmpty()) {
                return 0;
            }
            c.assign(tps);
            Map<TopicPartition, OffsetAndMetadata> committed = c.committed(Set.copyOf(tps));
            for (TopicPartition tp : tps) {
                OffsetAndMetadata o = committed.get(tp);
                if (o != null) {
                    c.seek(tp, o.offset());
                } else {
                    c.seekToBeginning(List.of(tp));
                }
            }
            Map<TopicPartition, OffsetAndMetadata> done = new HashMap<>();
            readToEnd(c, tps, r -> {
                DeadLetter d = deadLetter(r);
                if (d.job() != null
                        && !ExecutionCore.INVALID_PAYLOAD_CLASS.equals(d.job().className())
                        && !DeadLetter.TRUNCATED_JOB_CLASS.equals(d.job().className())) {
                    this.queue.enqueue(d.job().toBuilder().retryCount(null).build());
                    replayed.incrementAndGet();
                }
                done.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
                return true;
            });
            if (!done.isEmpty()) {
                c.commitSync(done);
            }
        }
        return replayed.get();
    }

    /**
     * Moves the jobs of {@code queue} that the workers have not consumed yet into {@code target} (e.g. a Redis
     * backend's queue): the jobs topic's records past the workers' group's committed offsets, and the delay tiers'
     * records past the scheduler group's (scheduled jobs and retries, sent with {@code enqueueAt} at their due time).
     * Offsets are committed only after the target acknowledged a batch, so a crash may send a batch twice (same jids)
     * but never loses one. The DLQ is not moved.
     *
     * <p>The queue's Kafka workers must be stopped; other queues' may keep running. The queue's workers' and
     * scheduler's groups ({@link KafkaBackendConfig#workerGroup}, {@link KafkaBackendConfig#schedulerGroup}) must have
     * no members (checked first, and again by the broker on every commit). Group mode only.
     *
     * @throws IllegalStateException when a group has active members, in share mode, or when the target refuses a job
     *     (batches before it are committed, the rest stays in Kafka)
     */
    public Transferred transfer(String queue, JobQueue target) {
        Objects.requireNonNull(target, "target");
        return new QueueTransfer(config, clients, topics, admin, outcomes, queue, target).run();
    }

    private static List<TopicPartition> partitions(KafkaConsumer<byte[], byte[]> c, String topic) {
        List<PartitionInfo> infos = c.partitionsFor(topic, Duration.ofSeconds(10));
        List<TopicPartition> tps = new ArrayList<>();
        if (infos != null) {
            infos.forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
        }
        return tps;
    }

    /** Reads assigned partitions from their position (or the beginning) to the end offsets seen at the start. */
    private static void readToEnd(
            KafkaConsumer<byte[], byte[]> c, List<TopicPartition> tps, Predicate<ConsumerRecord<byte[], byte[]>> each) {
        if (c.assignment().isEmpty()) {
            c.assign(tps);
            c.seekToBeginning(tps);
        }
        Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            boolean reached = true;
            for (TopicPartition tp : tps) {
                if (c.position(tp, Duration.ofSeconds(10)) < end.get(tp)) {
                    reached = false;
                }
            }
            if (reached) {
                return;
            }
            ConsumerRecords<byte[], byte[]> rs = c.poll(Duration.ofMillis(200));
            for (ConsumerRecord<byte[], byte[]> r : rs) {
                if (r.offset() < end.get(new TopicPartition(r.topic(), r.partition())) && !each.test(r)) {
                    return;
                }
            }
        }
        throw new IllegalStateException("could not read " + tps + " to its end within 30 s");
    }

    private DeadLetter deadLetter(ConsumerRecord<byte[], byte[]> r) {
        dev.crossfade.api.Job job;
        try {
            job = outcomes.codec().decode(r.value());
        } catch (RuntimeException e) {
            job = null;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header h : r.headers()) {
            headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
        }
        return new DeadLetter(job, r.topic(), r.partition(), r.offset(), Instant.ofEpochMilli(r.timestamp()), headers);
    }
}
