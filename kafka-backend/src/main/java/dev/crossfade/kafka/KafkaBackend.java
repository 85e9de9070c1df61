package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.Topics;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

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
    private static final Logger log = LoggerFactory.getLogger(KafkaBackend.class);
    private static final int BULK_LINGER_MS = 5;
    // Rejected by KafkaShareConsumer; dropped from the pass-through with a log line instead of failing start.
    private static final Set<String> NOT_FOR_SHARE = Set.of(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG, ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG, ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, ConsumerConfig.GROUP_PROTOCOL_CONFIG,
            ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG, ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG);

    private final KafkaBackendConfig config;
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
        this.admin = Admin.create(adminProperties());
        this.producer = new KafkaProducer<>(producerProperties());
        this.bulkProducer = new KafkaProducer<>(bulkProducerProperties());
        this.topics = new Topics(admin, config.topicPrefix(), config.createTopics(), config.partitions(),
                config.replicationFactor(), config.delayTiers(), config.enqueueTimeout());
        this.retryAndDlq = new RetryAndDlq(producer, topics, config.enqueueTimeout());
        this.lagMonitor = new LagMonitor(admin, topics, config, () -> new KafkaConsumer<>(plainConsumerProperties()));
        this.queue = new KafkaJobQueue(producer, bulkProducer, this::boundedProducer, topics, retryAndDlq,
                JobCodec.defaults(), config.enqueueTimeout());
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
    public WorkerRuntime workers(ExecutionCore core, Set<String> queues, int concurrency) {
        Objects.requireNonNull(core, "core");
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
        }
        List<String> qs = new ArrayList<>(new TreeSet<>(queues == null || queues.isEmpty()
                ? Set.of(Job.DEFAULT_QUEUE) : queues));
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
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(plainConsumerProperties())) {
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
     * twice does not replay a job twice. Envelopes of undecodable payloads are skipped: there is nothing to run.
     *
     * @return how many jobs were re-enqueued
     */
    public int replayDeadLetters(String queue) {
        String topic = topics.dlq(Topics.checkQueue(queue));
        Map<String, Object> props = plainConsumerProperties();
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
                if (d.job() != null && !ExecutionCore.INVALID_PAYLOAD_CLASS.equals(d.job().className())) {
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
     * <p>The queue's Kafka workers must be stopped: the workers' and scheduler's groups must have no members (checked
     * first, and again by the broker on every commit). Group mode only.
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
    private static void readToEnd(KafkaConsumer<byte[], byte[]> c, List<TopicPartition> tps,
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
        return new DeadLetter(job, r.topic(), r.partition(), r.offset(), Instant.ofEpochMilli(r.timestamp()),
                headers);
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

    DelayScheduler scheduler(List<String> queues, String name) {
        String group = config.groupId() + ".scheduler";
        Map<String, String> schedulerConfigs = new HashMap<>();
        // Only consumer-group settings apply to the scheduler's group (share.* would be rejected).
        config.groupConfigs().forEach((k, v) -> {
            if (k.startsWith("consumer.")) {
                schedulerConfigs.put(k, v);
            }
        });
        applyGroupConfigs(group, schedulerConfigs, false);
        Map<String, Object> props = consumerProperties(group, name + "-scheduler");
        return new DelayScheduler(new KafkaConsumer<>(props), producer, retryAndDlq, topics, queues,
                config.schedulerPollInterval(), name + "-scheduler");
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
                    .all().get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            Throwable cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
            throw new IllegalStateException("cannot set group configs " + all + " on group " + groupId + ": " + cause,
                    cause);
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

    Map<String, Object> producerProperties() {
        return producerProperties("", 0);
    }

    /**
     * The producer of batches ({@link KafkaJobQueue#enqueueAll}, and {@code enqueueAllAsync} of more than one job): it
     * lingers, and each call flushes it once its jobs are sent (an asynchronous call, from a flusher thread). So a
     * batch leaves as one produce request per partition, not as the dozen small ones a producer that sends at once
     * makes while the caller is still handing it records: a sixth to a third more jobs/s for batches of 100 and 1,000
     * jobs in interleaved runs here, and fewer produce requests for the broker. The linger only bounds how long
     * records wait when a flush never comes; a full batch leaves at once.
     */
    Map<String, Object> bulkProducerProperties() {
        return producerProperties("-bulk", BULK_LINGER_MS);
    }

    /**
     * The batch producer of {@link KafkaJobQueue#enqueueAllWithin} for {@code limit}: the bulk producer's settings,
     * with timeouts that split the limit, so that a call which flushes it on its own thread returns within the limit.
     * An application has one or two limits (the router's), so one or two of these.
     */
    private Producer<byte[], byte[]> boundedProducer(Duration limit) {
        return boundedProducers.computeIfAbsent(limit, l -> {
            if (closed) {
                throw new EnqueueException(Backend.KAFKA, "queue is closed");
            }
            return new KafkaProducer<>(boundedProducerProperties(l));
        });
    }

    /**
     * Half the limit for {@code send} to block ({@code max.block.ms}), half for a record to be acknowledged
     * ({@code delivery.timeout.ms}, with the request timeout inside it, as the client requires). The application's
     * producer properties apply, but for these three.
     */
    Map<String, Object> boundedProducerProperties(Duration limit) {
        Map<String, Object> p = producerProperties("-bounded", BULK_LINGER_MS);
        int linger = Integer.parseInt(String.valueOf(p.get(ProducerConfig.LINGER_MS_CONFIG)));
        long half = Math.max(limit.toMillis() / 2, linger + 1L);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, half);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) half);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) half - linger);
        return p;
    }

    private Map<String, Object> producerProperties(String clientSuffix, int lingerMs) {
        Map<String, Object> p = new HashMap<>();
        long timeout = config.enqueueTimeout().toMillis();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "crossfade-producer-" + SEQ.incrementAndGet() + clientSuffix);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        // A single enqueue has nothing to gain from lingering, which would add to every call (5 ms).
        p.put(ProducerConfig.LINGER_MS_CONFIG, lingerMs);
        // Jobs keyed by jid spread over every partition, so each partition's batch fills slowly; larger batches mean
        // fewer produce requests per enqueueAll (measured in bench/).
        p.put(ProducerConfig.BATCH_SIZE_CONFIG, 65_536);
        // The ack wait of an enqueue and the producer's own give-up time are the same, so a failed future means the
        // record was not written (no late arrival after we reported failure).
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeout);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(30_000, timeout / 2));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, timeout);
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        p.putAll(config.producerProperties());
        return p;
    }

    Map<String, Object> consumerProperties(String groupId, String clientId) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, config.groupProtocol());
        if (config.groupProtocol().equals("classic")) {
            p.put(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName());
        }
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        // Jobs enqueued before the first worker joined must run.
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.maxPollRecords());
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) config.fetchMaxWait().toMillis());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.putAll(config.consumerProperties());
        return p;
    }

    /** A share consumer's properties; {@code concurrency}: its runtime's worker threads, which size its batch. */
    Map<String, Object> shareConsumerProperties(String clientId, int concurrency) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put("share.acknowledgement.mode", "explicit");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.shareMaxPollRecords(concurrency));
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int) config.fetchMaxWait().toMillis());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        config.consumerProperties().forEach((k, v) -> {
            if (NOT_FOR_SHARE.contains(k)) {
                log.debug("consumer property {} does not apply to share consumers; ignored", k);
            } else {
                p.put(k, v);
            }
        });
        return p;
    }

    /** A group-less consumer for reads by offset (DLQ listing, lag probes). */
    Map<String, Object> plainConsumerProperties() {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "crossfade-reader-" + SEQ.incrementAndGet());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        return p;
    }

    Map<String, Object> adminProperties() {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "crossfade-admin-" + SEQ.incrementAndGet());
        p.putAll(config.adminProperties());
        return p;
    }

    /** Which backend this is, for symmetry with the other backends' factories. */
    public Backend backend() {
        return Backend.KAFKA;
    }
}
