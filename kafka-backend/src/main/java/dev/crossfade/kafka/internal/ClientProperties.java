package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The properties of every Kafka client the backend makes, built in this one place so that what a deployment must give
 * every client ({@code security.protocol}, {@code sasl.*}, {@code ssl.*}: the config's {@code clientProperties})
 * reaches all of them: the producers, the workers' consumers and share consumers, the scheduler, the readers behind
 * DLQ listing, replay, transfer and lag, and the admin client. Order for each: the backend's defaults, then the
 * client properties, then the kind's own raw properties.
 */
public final class ClientProperties {
    private static final Logger log = LoggerFactory.getLogger(ClientProperties.class);
    private static final int BULK_LINGER_MS = 5;
    /** Kafka's default {@code max.request.size}. */
    private static final int DEFAULT_MAX_REQUEST_SIZE = 1024 * 1024;
    // Rejected by KafkaShareConsumer; dropped from the pass-through with a log line instead of failing start.
    private static final Set<String> NOT_FOR_SHARE = Set.of(
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
            ConsumerConfig.ISOLATION_LEVEL_CONFIG,
            ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            ConsumerConfig.INTERCEPTOR_CLASSES_CONFIG,
            ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG,
            ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG,
            ConsumerConfig.GROUP_PROTOCOL_CONFIG,
            ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG,
            ConsumerConfig.AUTO_COMMIT_INTERVAL_MS_CONFIG);
    // A reader chooses its own group (none, or the replay's) and reads from the beginning.
    private static final Set<String> NOT_FOR_READERS = Set.of(
            ConsumerConfig.GROUP_ID_CONFIG,
            ConsumerConfig.GROUP_INSTANCE_ID_CONFIG,
            ConsumerConfig.GROUP_PROTOCOL_CONFIG,
            ConsumerConfig.GROUP_REMOTE_ASSIGNOR_CONFIG,
            ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG);

    /** Numbers the clients and runtimes of this JVM, so their ids and thread names are told apart. */
    private static final AtomicLong SEQ = new AtomicLong();

    private final KafkaBackendConfig config;

    public static long nextId() {
        return SEQ.incrementAndGet();
    }

    public ClientProperties(KafkaBackendConfig config) {
        this.config = config;
    }

    /** The producer that sends single jobs at once, and writes retries, dead letters and scheduler hops. */
    public Map<String, Object> producer() {
        return producer("", 0);
    }

    /**
     * The producer of batches ({@link KafkaJobQueue#enqueueAll}, and {@code enqueueAllAsync} of more than one job): it
     * lingers, and each call flushes it once its jobs are sent (an asynchronous call, from a flusher thread). So a
     * batch leaves as one produce request per partition, not as the dozen small ones a producer that sends at once
     * makes while the caller is still handing it records (docs/benchmarks.md, "Producers"), and the broker sees fewer
     * produce requests. The linger only bounds how long records wait when a flush never comes; a full batch leaves at
     * once.
     */
    public Map<String, Object> bulkProducer() {
        return producer("-bulk", BULK_LINGER_MS);
    }

    /**
     * The batch producer of {@link KafkaJobQueue#enqueueAll(java.util.List, Duration)} for {@code limit}: half the limit for {@code send}
     * to block ({@code max.block.ms}), half for a record to be acknowledged ({@code delivery.timeout.ms}, with the
     * request timeout inside it, as the client requires). The application's producer properties apply, but for these
     * three.
     */
    public Map<String, Object> boundedProducer(Duration limit) {
        Map<String, Object> p = producer("-bounded", BULK_LINGER_MS);
        int linger = Integer.parseInt(String.valueOf(p.get(ProducerConfig.LINGER_MS_CONFIG)));
        long half = Math.max(limit.toMillis() / 2, linger + 1L);
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, half);
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) half);
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) half - linger);
        return p;
    }

    /** The producers' {@code max.request.size}: what the payload limits derive from. */
    public int maxRequestSize() {
        Object v = producer().get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
        if (v == null) {
            return DEFAULT_MAX_REQUEST_SIZE;
        }
        try {
            return v instanceof Number n
                    ? n.intValue()
                    : Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("max.request.size must be a number of bytes, got '" + v + "'", e);
        }
    }

    private Map<String, Object> producer(String clientSuffix, int lingerMs) {
        Map<String, Object> p = new HashMap<>();
        long timeout = config.enqueueTimeout().toMillis();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "crossfade-producer-" + nextId() + clientSuffix);
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
        p.putAll(config.clientProperties());
        p.putAll(config.producerProperties());
        return p;
    }

    /** A consumer-group member: the workers' (group mode) and the delay scheduler's. */
    public Map<String, Object> consumer(String groupId, String clientId) {
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
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int)
                config.fetchMaxWait().toMillis());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.putAll(config.clientProperties());
        config.consumerProperties().forEach((k, v) -> {
            // The scheduler is a group member in share mode too, where share.* settings are for the share consumers.
            if (k.startsWith("share.")) {
                log.debug("consumer property {} applies to share consumers only; not given to {}", k, clientId);
            } else {
                p.put(k, v);
            }
        });
        return p;
    }

    /**
     * A share consumer; {@code concurrency}: its runtime's worker threads, which size its batch. It acquires no more
     * records than a poll returns ({@code share.acquire.mode=record_limit}): records a fetch acquired beyond the batch
     * would wait in the client, locked, and a stop would hand them back having spent a delivery attempt on each.
     */
    public Map<String, Object> shareConsumer(String clientId, int concurrency) {
        return shareConsumer(clientId, concurrency, config.groupId());
    }

    /** As {@link #shareConsumer(String, int)}, in share group {@code groupId}. */
    public Map<String, Object> shareConsumer(String clientId, int concurrency, String groupId) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
        p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
        p.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, config.shareMaxPollRecords(concurrency));
        p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, (int)
                config.fetchMaxWait().toMillis());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.putAll(config.clientProperties());
        config.consumerProperties().forEach((k, v) -> {
            if (NOT_FOR_SHARE.contains(k)) {
                log.debug("consumer property {} does not apply to share consumers; ignored", k);
            } else {
                p.put(k, v);
            }
        });
        return p;
    }

    /**
     * A consumer that reads by offset, outside the workers' groups: DLQ listing, replay (which adds its own group),
     * transfer and the lag probe.
     */
    public Map<String, Object> reader() {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "crossfade-reader-" + nextId());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        p.putAll(config.clientProperties());
        config.consumerProperties().forEach((k, v) -> {
            if (!NOT_FOR_READERS.contains(k) && !k.startsWith("share.")) {
                p.put(k, v);
            }
        });
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        return p;
    }

    public Map<String, Object> admin() {
        Map<String, Object> p = new HashMap<>();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "crossfade-admin-" + nextId());
        p.putAll(config.clientProperties());
        p.putAll(config.adminProperties());
        return p;
    }
}
