package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.kafka.PartitionLag;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lag role. Per batch (a chunk of a poll), Micrometer timers:
 * <ul>
 *   <li>{@code crossfade.kafka.batch.processing.lag}: from the poll that fetched the batch to its first job starting
 *   (time spent waiting for a worker thread);</li>
 *   <li>{@code crossfade.kafka.batch.consumption.lag}: from the oldest record's append time to its processing
 *   start;</li>
 *   <li>{@code crossfade.kafka.batch.duration}: how long the batch took to run;</li>
 * </ul>
 * tagged {@code topic}. Per partition of the watched queues, refreshed every {@code lagInterval} through Admin,
 * gauges {@code crossfade.kafka.partition.offset.lag} (log end offset minus the group's committed offset, or the
 * share-partition start offset) and {@code crossfade.kafka.partition.time.lag.seconds} (age of the record at the
 * committed offset, read with a one-record fetch), tagged {@code topic}, {@code partition}, {@code group}. In share
 * mode the offset lag is the broker's count of records not yet acknowledged, where it reports one, since records past
 * the share-partition start offset may be done already.
 * Without a {@code MeterRegistry} in the config, only {@code KafkaAdmin.lag(String)} reads are available.
 */
public final class LagMonitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LagMonitor.class);

    private final Admin admin;
    private final Topics topics;
    private final KafkaBackendConfig config;
    private final MeterRegistry registry;
    private final Supplier<KafkaConsumer<byte[], byte[]>> probeFactory;
    private final Map<String, Timer[]> timers = new ConcurrentHashMap<>();
    private final Map<TopicPartition, AtomicLong[]> gauges = new ConcurrentHashMap<>();
    private final Set<String> watched = ConcurrentHashMap.newKeySet();
    private ScheduledExecutorService refresher;
    private KafkaConsumer<byte[], byte[]> probe;

    public LagMonitor(
            Admin admin,
            Topics topics,
            KafkaBackendConfig config,
            Supplier<KafkaConsumer<byte[], byte[]>> probeFactory) {
        this.admin = admin;
        this.topics = topics;
        this.config = config;
        this.registry = config.meterRegistry();
        this.probeFactory = probeFactory;
    }

    /** Records one batch; cheap when no registry is configured. */
    public void batch(String topic, Chunk chunk, int ran, long startNanos) {
        if (registry == null || chunk.size() == 0) {
            return;
        }
        Timer[] t = timers.computeIfAbsent(topic, tp -> new Timer[] {
            Timer.builder("crossfade.kafka.batch.processing.lag")
                    .tags("topic", tp)
                    .register(registry),
            Timer.builder("crossfade.kafka.batch.consumption.lag")
                    .tags("topic", tp)
                    .register(registry),
            Timer.builder("crossfade.kafka.batch.duration").tags("topic", tp).register(registry)
        });
        long end = System.nanoTime();
        t[0].record(Math.max(0, startNanos - chunk.polledAtNanos()), TimeUnit.NANOSECONDS);
        long oldest = chunk.firstTimestamp();
        long startWallMillis = System.currentTimeMillis() - (end - startNanos) / 1_000_000;
        t[1].record(Math.max(0, startWallMillis - oldest), TimeUnit.MILLISECONDS);
        t[2].record(end - startNanos, TimeUnit.NANOSECONDS);
    }

    /** Starts periodic partition-lag gauges for these queues (only with a registry). */
    public synchronized void watch(Collection<String> queues) {
        if (registry == null) {
            return;
        }
        watched.addAll(queues);
        if (refresher == null) {
            refresher = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "crossfade-kafka-lag");
                t.setDaemon(true);
                return t;
            });
            long every = config.lagInterval().toMillis();
            refresher.scheduleWithFixedDelay(this::refresh, 0, every, TimeUnit.MILLISECONDS);
        }
    }

    private void refresh() {
        for (String q : watched) {
            try {
                for (PartitionLag l : lag(q)) {
                    TopicPartition tp = new TopicPartition(l.topic(), l.partition());
                    AtomicLong[] g = gauges.computeIfAbsent(tp, this::register);
                    g[0].set(l.offsetLag());
                    g[1].set(l.timeLag() == null ? -1 : l.timeLag().toSeconds());
                }
            } catch (RuntimeException e) {
                log.debug("lag refresh of queue {} failed: {}", q, e.toString());
            }
        }
    }

    private AtomicLong[] register(TopicPartition tp) {
        AtomicLong[] g = {new AtomicLong(), new AtomicLong()};
        Tags tags = Tags.of(
                "topic",
                tp.topic(),
                "partition",
                Integer.toString(tp.partition()),
                "group",
                config.workerGroup(topics.queueOf(tp.topic())));
        Gauge.builder("crossfade.kafka.partition.offset.lag", g[0], AtomicLong::get)
                .tags(tags)
                .register(registry);
        Gauge.builder("crossfade.kafka.partition.time.lag.seconds", g[1], AtomicLong::get)
                .tags(tags)
                .register(registry);
        return g;
    }

    /**
     * Reads the lag of every partition of a queue's topic for the configured group (consumer or share group, as
     * the mode says).
     */
    public List<PartitionLag> lag(String queue) {
        String topic = topics.jobs(queue);
        try {
            var desc = admin.describeTopics(List.of(topic))
                    .allTopicNames()
                    .get(30, TimeUnit.SECONDS)
                    .get(topic);
            Map<TopicPartition, OffsetSpec> specs = new HashMap<>();
            desc.partitions().forEach(p -> specs.put(new TopicPartition(topic, p.partition()), OffsetSpec.latest()));
            var ends = admin.listOffsets(specs).all().get(30, TimeUnit.SECONDS);
            Map<TopicPartition, Long> committed = new HashMap<>();
            Map<TopicPartition, Long> shareLag = new HashMap<>();
            if (config.mode() == KafkaBackendConfig.Mode.SHARE) {
                var info = admin.listShareGroupOffsets(Map.of(
                                config.workerGroup(queue),
                                new ListShareGroupOffsetsSpec().topicPartitions(specs.keySet())))
                        .partitionsToOffsetInfo(config.workerGroup(queue))
                        .get(30, TimeUnit.SECONDS);
                info.forEach((tp, i) -> {
                    if (i != null) {
                        committed.put(tp, i.startOffset());
                        // Records past the start offset may be done already (acknowledged out of order); the broker
                        // counts what is not (KIP-1226).
                        i.lag().ifPresent(l -> shareLag.put(tp, l));
                    }
                });
            } else {
                Map<TopicPartition, OffsetAndMetadata> offsets = admin.listConsumerGroupOffsets(
                                config.workerGroup(queue))
                        .partitionsToOffsetAndMetadata()
                        .get(30, TimeUnit.SECONDS);
                offsets.forEach((tp, o) -> {
                    if (o != null && tp.topic().equals(topic)) {
                        committed.put(tp, o.offset());
                    }
                });
            }
            List<PartitionLag> out = new ArrayList<>();
            for (TopicPartition tp : specs.keySet().stream()
                    .sorted((a, b) -> a.partition() - b.partition())
                    .toList()) {
                long end = ends.get(tp).offset();
                long c = committed.getOrDefault(tp, -1L);
                long from = c < 0 ? 0 : c;
                long lag = Math.max(0, shareLag.getOrDefault(tp, end - from));
                Duration time = lag == 0 ? Duration.ZERO : ageAt(tp, from);
                out.add(new PartitionLag(topic, tp.partition(), end, c, lag, time));
            }
            return out;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException(
                    "cannot read the lag of topic " + topic + " for group " + config.workerGroup(queue) + ": " + e, e);
        }
    }

    /** The age of the record at {@code offset} (or the first one after it, past a gap); null if unreadable. */
    private synchronized Duration ageAt(TopicPartition tp, long offset) {
        try {
            if (probe == null) {
                probe = probeFactory.get();
            }
            probe.assign(List.of(tp));
            probe.seek(tp, offset);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
            while (System.nanoTime() < deadline) {
                ConsumerRecords<byte[], byte[]> rs = probe.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : rs) {
                    return Duration.ofMillis(Math.max(0, System.currentTimeMillis() - r.timestamp()));
                }
            }
        } catch (RuntimeException e) {
            log.debug("cannot read the record at {}@{}: {}", tp, offset, e.toString());
        }
        return null;
    }

    @Override
    public synchronized void close() {
        if (refresher != null) {
            refresher.shutdownNow();
        }
        if (probe != null) {
            probe.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(2)));
        }
    }
}
