package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.kafka.KafkaAdmin;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.PartitionLag;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Asks the broker to describe the cluster (the reachability check, bounded by the check timeout), and every few
 * seconds reads the lag of the watched queues and the size of their dead-letter topics. The DLQ is counted from its
 * offsets, not read record by record. Uses an admin client of its own with short timeouts, so that a check fails
 * quickly instead of waiting out the backend's longer ones.
 */
final class KafkaCheck implements BackendCheck {
    /** Lag and DLQ sizes change slowly, and cost a few requests per queue: read them this often at most. */
    private static final long DETAILS_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final Supplier<KafkaBackend> kafka;
    private final String bootstrap;
    private final String topicPrefix;
    private final Set<String> queues;
    private final Duration timeout;
    private final Admin admin;
    private Map<String, Object> details;
    private long detailsAt;

    KafkaCheck(
            Supplier<KafkaBackend> kafka,
            String bootstrap,
            String topicPrefix,
            Map<String, Object> adminProperties,
            Set<String> queues,
            Duration timeout) {
        this.kafka = kafka;
        this.bootstrap = bootstrap;
        this.topicPrefix = topicPrefix;
        this.queues = queues;
        this.timeout = timeout;
        this.admin = Admin.create(KafkaAdmin.healthCheckProperties(bootstrap, adminProperties, timeout));
    }

    @Override
    public Backend backend() {
        return Backend.KAFKA;
    }

    @Override
    public String address() {
        return bootstrap;
    }

    @Override
    public Map<String, Object> read() {
        try {
            get(admin.describeCluster(new DescribeClusterOptions().timeoutMs((int) timeout.toMillis()))
                    .nodes());
        } catch (org.apache.kafka.common.errors.TimeoutException | NoAnswer e) {
            throw new IllegalStateException(diagnose());
        }
        long now = System.nanoTime();
        if (details == null || now - detailsAt > DETAILS_EVERY_NANOS) {
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("lag", lag());
            d.put("dlq", dlq());
            details = d;
            detailsAt = now;
        }
        return details;
    }

    /**
     * Why the cluster did not answer, in words: the admin client only says it timed out, whether nothing listens or
     * a broker accepts connections and then never answers (a hung or overloaded broker).
     */
    private String diagnose() {
        List<String> found = new ArrayList<>();
        String[] servers = bootstrap.split(",");
        for (String server : servers) {
            String s = server.trim();
            int colon = s.lastIndexOf(':');
            String host = s.substring(0, colon).replace("[", "").replace("]", "");
            int port = Integer.parseInt(s.substring(colon + 1));
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(host, port), (int) Math.min(1000, timeout.toMillis()));
                found.add((servers.length > 1 ? s + " " : "") + "accepts connections but does not answer within "
                        + timeout.toMillis() + " ms");
            } catch (IOException e) {
                found.add((servers.length > 1 ? s + ": " : "")
                        + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
        }
        return String.join("; ", found);
    }

    private List<Map<String, Object>> lag() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String q : queues) {
            for (PartitionLag p : lagOf(q)) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("topic", p.topic());
                m.put("partition", p.partition());
                m.put("lag", p.offsetLag());
                m.put("timeLagMs", p.timeLag() == null ? 0 : p.timeLag().toMillis());
                out.add(m);
            }
        }
        return out;
    }

    /** A queue never used on Kafka has no topic yet, and so no lag. */
    private List<PartitionLag> lagOf(String queue) {
        try {
            return kafka.get().admin().lag(queue);
        } catch (RuntimeException e) {
            if (unknownTopic(e)) {
                return List.of();
            }
            throw e;
        }
    }

    /** Records in the queues' dead-letter topics: end minus start offset of every partition. */
    private long dlq() {
        List<String> topics =
                queues.stream().map(q -> topicPrefix + "." + q + ".dlq").toList();
        Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
        Map<TopicPartition, OffsetSpec> earliest = new HashMap<>();
        for (var e : admin.describeTopics(topics).topicNameValues().entrySet()) {
            TopicDescription d;
            try {
                d = get(e.getValue());
            } catch (RuntimeException ex) {
                if (unknownTopic(ex)) {
                    continue;
                }
                throw ex;
            }
            d.partitions().forEach(p -> {
                TopicPartition tp = new TopicPartition(e.getKey(), p.partition());
                latest.put(tp, OffsetSpec.latest());
                earliest.put(tp, OffsetSpec.earliest());
            });
        }
        if (latest.isEmpty()) {
            return 0;
        }
        ListOffsetsOptions o = new ListOffsetsOptions();
        var ends = get(admin.listOffsets(latest, o).all());
        var starts = get(admin.listOffsets(earliest, o).all());
        long n = 0;
        for (TopicPartition tp : latest.keySet()) {
            n += Math.max(0, ends.get(tp).offset() - starts.get(tp).offset());
        }
        return n;
    }

    private <T> T get(org.apache.kafka.common.KafkaFuture<T> f) {
        try {
            return f.get(timeout.toMillis() + 500, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } catch (TimeoutException e) {
            throw new NoAnswer("no answer within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
    }

    /** Our own wait ran out before the client's. */
    private static final class NoAnswer extends IllegalStateException {
        NoAnswer(String message) {
            super(message);
        }
    }

    private static boolean unknownTopic(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof UnknownTopicOrPartitionException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        // Nothing it sends needs finishing: do not wait for a broker that may not answer.
        admin.close(Duration.ZERO);
    }
}
