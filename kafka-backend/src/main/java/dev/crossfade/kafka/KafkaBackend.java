package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.slf4j.LoggerFactory;

/**
 * Entry point of the Kafka backend: one per application, holding the shared producers and admin client.
 *
 * <pre>{@code
 * KafkaBackend kafka = KafkaBackend.create(KafkaBackendConfig.custom()
 *         .bootstrapServers("localhost:9092")
 *         .mode(KafkaBackendConfig.Mode.GROUP)      // or SHARE
 *         .build());
 * JobQueue queue = kafka.queue();
 * queue.enqueue(Job.of("HardWorker", 1, "two"));
 * WorkerRuntime workers = kafka.workers(core, Set.of("default"), 10);
 * workers.start();
 * ...
 * workers.close();
 * kafka.close();
 * }</pre>
 *
 * Besides the queue and workers it offers the small admin reads the CLI needs: {@link #lag(String)},
 * {@link #deadLetters(String, int)} and {@link #replayDeadLetters(String)}. Thread-safe.
 */
public final class KafkaBackend implements AutoCloseable {
    static final AtomicLong SEQ = new AtomicLong();

    private final KafkaBackendConfig config;
    private final ClientProperties clients;
    private final Admin admin;
    private final Producer<byte[], byte[]> producer;
    private final Producer<byte[], byte[]> bulkProducer;
    /** Batch producers for calls with a time limit, by limit, made on first use; see {@link #boundedProducer}. */
    private final Map<Duration, Producer<byte[], byte[]>> boundedProducers = new ConcurrentHashMap<>();

    private volatile boolean closed;
    private final Topics topics;
    private final RetryAndDlq retryAndDlq;
    private final LagMonitor lagMonitor;
    private final KafkaJobQueue queue;

    private KafkaBackend(KafkaBackendConfig config) {
        this.config = config;
        this.clients = new ClientProperties(config);
        RecordSize sizes = new RecordSize(clients.maxRequestSize());
        this.admin = Admin.create(clients.admin());
        this.producer = new KafkaProducer<>(clients.producer());
        this.bulkProducer = new KafkaProducer<>(clients.bulkProducer());
        this.topics = new Topics(
                admin,
                config.topicPrefix(),
                config.createTopics(),
                new Topics.Settings(
                        config.partitions(),
                        config.replication(),
                        config.dlqRetention(),
                        config.delayRetention(),
                        sizes.maxRequestSize()),
                config.delayTiers(),
                config.enqueueTimeout());
        this.retryAndDlq = new RetryAndDlq(producer, topics, sizes, config.enqueueTimeout(), config.meterRegistry());
        this.lagMonitor = new LagMonitor(admin, topics, config, () -> new KafkaConsumer<>(clients.reader()));
        // Enqueues are held to the size whose failure can still be stored (see RecordSize).
        this.queue = new KafkaJobQueue(
                producer,
                bulkProducer,
                this::boundedProducer,
                topics,
                retryAndDlq,
                JobCodec.builder().maxPayloadBytes(sizes.enqueueLimit()).build(),
                sizes,
                config.enqueueTimeout());
    }

    /** Connects (lazily: no network call happens before the first use). */
    public static KafkaBackend create(KafkaBackendConfig config) {
        return new KafkaBackend(Objects.requireNonNull(config, "config"));
    }

    public KafkaBackendConfig config() {
        return config;
    }

    /** The producer side; shared, thread-safe, closed with the backend. */
    public KafkaJobQueue queue() {
        return queue;
    }

    /**
     * A worker runtime over {@code queues} (just {@code default} when empty) in the configured mode:
     * {@link GroupRunner} or {@link ShareRunner}. Not started: call {@link WorkerRuntime#start()}.
     *
     * @param concurrency worker threads
     */
    public WorkerRuntime workers(ExecutionCore core, Collection<String> queues, int concurrency) {
        Objects.requireNonNull(core, "core");
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
        }
        List<String> qs = new ArrayList<>(
                new TreeSet<>(queues == null || queues.isEmpty() ? List.of(Job.DEFAULT_QUEUE) : queues));
        qs.forEach(Topics::checkQueue);
        return config.mode() == KafkaBackendConfig.Mode.SHARE
                ? new ShareRunner(this, core, List.copyOf(qs), concurrency)
                : new GroupRunner(this, core, List.copyOf(qs), concurrency);
    }

    /** Lag of every partition of the queue's topic for the configured group. */
    public List<PartitionLag> lag(String queue) {
        return lagMonitor.lag(Topics.checkQueue(queue));
    }

    /** The lag monitor (its meters are registered when the config has a {@code MeterRegistry}). */
    public LagMonitor lagMonitor() {
        return lagMonitor;
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
    public Transferred transfer(String queue, dev.crossfade.api.JobQueue target) {
        Objects.requireNonNull(target, "target");
        return new QueueTransfer(this, queue, target).run();
    }

    /**
     * What {@link #transfer} moved.
     *
     * @param pending   jobs that were waiting in the jobs topic
     * @param scheduled scheduled jobs and retries from the delay tiers, sent with their due time
     * @param invalid   records that were not jobs, sent to the queue's DLQ instead
     */
    public record Transferred(long pending, long scheduled, long invalid) {
        /** Jobs the target accepted. */
        public long total() {
            return pending + scheduled;
        }
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
            KafkaConsumer<byte[], byte[]> c,
            List<TopicPartition> tps,
            java.util.function.Predicate<ConsumerRecord<byte[], byte[]>> each) {
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
        Job job;
        try {
            job = retryAndDlq.codec().decode(r.value());
        } catch (RuntimeException e) {
            job = null;
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (Header h : r.headers()) {
            headers.put(h.key(), h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8));
        }
        return new DeadLetter(job, r.topic(), r.partition(), r.offset(), Instant.ofEpochMilli(r.timestamp()), headers);
    }

    /** Stops the lag refresher and closes the producers (after sending what they hold) and the admin client. */
    @Override
    public void close() {
        closed = true;
        queue.close();
        lagMonitor.close();
        boundedProducers.values().forEach(p -> p.close(Duration.ofSeconds(10)));
        bulkProducer.close(Duration.ofSeconds(10));
        producer.close(Duration.ofSeconds(10));
        admin.close(Duration.ofSeconds(5));
    }

    // ---- package-private plumbing for the runners ----

    Topics topics() {
        return topics;
    }

    RetryAndDlq retryAndDlq() {
        return retryAndDlq;
    }

    Producer<byte[], byte[]> producer() {
        return producer;
    }

    Admin admin() {
        return admin;
    }

    /** The delay scheduler of one queue, in that queue's scheduler group. */
    DelayScheduler scheduler(String queue, String name) {
        String group = config.schedulerGroup(queue);
        Map<String, String> schedulerConfigs = new HashMap<>();
        // Only consumer-group settings apply to the scheduler's group (share.* would be rejected).
        config.groupConfigs().forEach((k, v) -> {
            if (k.startsWith("consumer.")) {
                schedulerConfigs.put(k, v);
            }
        });
        applyGroupConfigs(group, schedulerConfigs, false);
        Map<String, Object> props = clients.consumer(group, name + "-scheduler");
        return new DelayScheduler(
                new KafkaConsumer<>(props),
                producer,
                retryAndDlq,
                topics,
                List.of(queue),
                config.schedulerPollInterval(),
                name + "-scheduler");
    }

    /**
     * The upgrade from one group for every queue: when {@code queue}'s own groups have no committed offsets yet and
     * the groups of an earlier version ({@code <groupId>}, group mode, and {@code <groupId>.scheduler}) have some for
     * its topics, copies them over and deletes them there, so the queue's workers go on where the old ones stopped,
     * once. Refuses while an old group still has members: both would run the same jobs.
     */
    void adoptLegacyOffsets(String queue) {
        if (config.mode() == KafkaBackendConfig.Mode.GROUP) {
            adopt(config.groupId(), config.workerGroup(queue), List.of(topics.jobs(queue)));
        }
        adopt(config.groupId() + ".scheduler", config.schedulerGroup(queue), topics.delayTopics(queue));
    }

    private void adopt(String legacy, String group, List<String> topicNames) {
        try {
            Map<TopicPartition, OffsetAndMetadata> mine = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS);
            if (mine.keySet().stream().anyMatch(tp -> topicNames.contains(tp.topic()))) {
                return;
            }
            Map<TopicPartition, OffsetAndMetadata> old = new HashMap<>();
            admin.listConsumerGroupOffsets(legacy)
                    .partitionsToOffsetAndMetadata()
                    .get(30, TimeUnit.SECONDS)
                    .forEach((tp, o) -> {
                        if (o != null && topicNames.contains(tp.topic())) {
                            old.put(tp, new OffsetAndMetadata(o.offset()));
                        }
                    });
            if (old.isEmpty()) {
                return;
            }
            var members = admin.describeConsumerGroups(List.of(legacy))
                    .describedGroups()
                    .get(legacy)
                    .get(30, TimeUnit.SECONDS)
                    .members();
            if (!members.isEmpty()) {
                throw new IllegalStateException("consumer group " + legacy + " of an earlier Crossfade version still "
                        + "has " + members.size() + " member(s): stop those workers first; these take over its "
                        + "committed offsets of " + topicNames + " as group " + group);
            }
            admin.alterConsumerGroupOffsets(group, old).all().get(30, TimeUnit.SECONDS);
            admin.deleteConsumerGroupOffsets(legacy, old.keySet()).all().get(30, TimeUnit.SECONDS);
            LoggerFactory.getLogger(KafkaBackend.class)
                    .info(
                            "took over the committed offsets of {} from group {} "
                                    + "(an earlier version's) as group {}",
                            topicNames,
                            legacy,
                            group);
        } catch (IllegalStateException e) {
            throw e;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(
                    "cannot take over the committed offsets of " + topicNames + " from group " + legacy + " as group "
                            + group + ": " + cause,
                    cause);
        }
    }

    /** Sets group-level dynamic configs: {@code defaults}, then the configured ones (which win). */
    void applyGroupConfigs(String groupId, Map<String, String> defaults) {
        applyGroupConfigs(groupId, defaults, true);
    }

    private void applyGroupConfigs(String groupId, Map<String, String> defaults, boolean includeConfigured) {
        Map<String, String> all = new LinkedHashMap<>(defaults);
        if (includeConfigured) {
            all.putAll(config.groupConfigs());
        }
        if (all.isEmpty()) {
            return;
        }
        List<AlterConfigOp> ops = new ArrayList<>();
        all.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
        try {
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP, groupId), ops))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            throw new IllegalStateException(
                    "cannot set group configs " + all + " on group " + groupId + ": " + cause, cause);
        }
    }

    static ExecutorService pool(String name, int threads) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The batch producer of {@link KafkaJobQueue#enqueueAll(java.util.List, Duration)} for {@code limit}: the bulk producer's settings,
     * with timeouts that split the limit, so that a call which flushes it on its own thread returns within the limit.
     * An application has one or two limits (the router's), so one or two of these.
     */
    private Producer<byte[], byte[]> boundedProducer(Duration limit) {
        return boundedProducers.computeIfAbsent(limit, l -> {
            if (closed) {
                throw new EnqueueException(Backend.KAFKA, "queue is closed");
            }
            return new KafkaProducer<>(clients.boundedProducer(l));
        });
    }

    /** The properties of every client the backend makes. */
    ClientProperties clients() {
        return clients;
    }

    /** Which backend this is, for symmetry with the other backends' factories. */
    public Backend backend() {
        return Backend.KAFKA;
    }
}
