package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.internal.ClientProperties;
import dev.crossfade.kafka.internal.ConsumerGroups;
import dev.crossfade.kafka.internal.GroupRunner;
import dev.crossfade.kafka.internal.LagMonitor;
import dev.crossfade.kafka.internal.OutcomeWriter;
import dev.crossfade.kafka.internal.RecordSize;
import dev.crossfade.kafka.internal.RunnerParts;
import dev.crossfade.kafka.internal.ShareRunner;
import dev.crossfade.kafka.internal.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;

/**
 * Entry point of the Kafka backend: one per application, holding the shared clients and handing out the queue, the
 * workers and the admin.
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
 * Lag, dead letters, replay and transfer are on {@link #admin()}. Thread-safe.
 */
public final class KafkaBackend implements AutoCloseable {
    private final KafkaBackendConfig config;
    private final ClientProperties clients;
    private final Admin admin;
    private final Producer<byte[], byte[]> producer;
    private final Producer<byte[], byte[]> bulkProducer;
    /** Batch producers for calls with a time limit, by limit, made on first use; see {@link #boundedProducer}. */
    private final Map<Duration, Producer<byte[], byte[]>> boundedProducers = new ConcurrentHashMap<>();

    private volatile boolean closed;
    private final Topics topics;
    private final LagMonitor lagMonitor;
    private final KafkaJobQueue queue;
    private final KafkaAdmin kafkaAdmin;
    private final RunnerParts runnerParts;

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
        OutcomeWriter outcomes =
                new OutcomeWriter(producer, topics, sizes, config.enqueueTimeout(), config.meterRegistry());
        this.lagMonitor = new LagMonitor(admin, topics, config, () -> new KafkaConsumer<>(clients.reader()));
        // Enqueues are held to the size whose failure can still be stored (see RecordSize).
        this.queue = new KafkaJobQueue(
                producer,
                bulkProducer,
                this::boundedProducer,
                topics,
                outcomes,
                JobCodec.builder().maxPayloadBytes(sizes.enqueueLimit()).build(),
                sizes,
                config.enqueueTimeout());
        this.kafkaAdmin = new KafkaAdmin(config, clients, topics, admin, outcomes, lagMonitor, queue);
        this.runnerParts = new RunnerParts(
                config, clients, topics, new ConsumerGroups(admin, config, topics), outcomes, lagMonitor, producer);
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

    /** Lag, dead letters, replay and transfer, for operators; closed with the backend. */
    public KafkaAdmin admin() {
        return kafkaAdmin;
    }

    /**
     * A worker runtime over {@code queues} (just {@code default} when empty) in the configured mode: a consumer group
     * or a share group. Not started: call {@link WorkerRuntime#start()}.
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
                ? new ShareRunner(runnerParts, core, List.copyOf(qs), concurrency)
                : new GroupRunner(runnerParts, core, List.copyOf(qs), concurrency);
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

    /**
     * The batch producer of {@link KafkaJobQueue#enqueueAll(java.util.List, Duration)} for {@code limit}: the bulk
     * producer's settings, with timeouts that split the limit, so that a call which flushes it on its own thread returns
     * within the limit. Limits share a producer by {@link #limitClass}: callers hand in what is left of their own
     * deadlines, which is a different duration on every call.
     */
    private Producer<byte[], byte[]> boundedProducer(Duration limit) {
        return boundedProducers.computeIfAbsent(limitClass(limit), l -> {
            if (closed) {
                throw new EnqueueException(Backend.KAFKA, "queue is closed");
            }
            return new KafkaProducer<>(clients.boundedProducer(l));
        });
    }

    /**
     * The limit rounded down to four significant bits of its milliseconds: at most eight producers per doubling of the
     * limit, each timing out within 12.5% short of the limits it serves (never after them).
     */
    static Duration limitClass(Duration limit) {
        long ms = Math.max(1, limit.toMillis());
        int shift = Math.max(0, 63 - Long.numberOfLeadingZeros(ms) - 3);
        return Duration.ofMillis((ms >>> shift) << shift);
    }

    /** How many batch producers exist (for tests in this package). */
    int boundedProducerCount() {
        return boundedProducers.size();
    }

    /** The topics of every queue (for tests in this package). */
    Topics topics() {
        return topics;
    }

    /** The properties of every client the backend makes (for tests in this package). */
    ClientProperties clients() {
        return clients;
    }

    /** Which backend this is, for symmetry with the other backends' factories. */
    public Backend backend() {
        return Backend.KAFKA;
    }
}
