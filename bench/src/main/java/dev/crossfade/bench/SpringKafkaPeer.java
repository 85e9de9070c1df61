package dev.crossfade.bench;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.crossfade.api.Jid;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.springframework.kafka.core.DefaultKafkaConsumerFactory;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.DefaultShareConsumerFactory;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.ConcurrentMessageListenerContainer;
import org.springframework.kafka.listener.ContainerProperties;
import org.springframework.kafka.listener.MessageListener;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.kafka.listener.ShareKafkaMessageListenerContainer;
import org.springframework.kafka.support.SendResult;
import org.springframework.kafka.support.serializer.JacksonJsonDeserializer;
import org.springframework.kafka.support.serializer.JacksonJsonSerializer;

/**
 * The peer a Java team would otherwise pick for the same jobs: Spring for Apache Kafka, set up as its reference
 * documentation shows, with the producer settings Crossfade uses. Jobs are a record of Sidekiq's fields, written and read
 * with Spring's Jackson JSON serializer and deserializer; listeners are no-ops, as the Crossfade workers are.
 */
final class SpringKafkaPeer {
    /** The job envelope as a Spring application would model it: Sidekiq's fields, the same JSON Crossfade writes. */
    record JobMessage(
            @JsonProperty("class") String jobClass,
            List<Object> args,
            String jid,
            String queue,
            @JsonProperty("created_at") double createdAt,
            @JsonProperty("enqueued_at") double enqueuedAt,
            boolean retry) {}

    private final String bootstrap;
    private final String filler;

    SpringKafkaPeer(String bootstrap, String filler) {
        this.bootstrap = bootstrap;
        this.filler = filler;
    }

    /** A {@link KafkaTemplate} on the topic, acks=all, idempotent, linger.ms=5 and batch.size=65536 as Crossfade's. */
    Sender sender(String topic) {
        return new Sender(topic);
    }

    final class Sender implements AutoCloseable {
        private final DefaultKafkaProducerFactory<String, JobMessage> factory;
        private final KafkaTemplate<String, JobMessage> template;

        private Sender(String topic) {
            Map<String, Object> p = new HashMap<>();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, 65_536);
            JacksonJsonSerializer<JobMessage> json = new JacksonJsonSerializer<>();
            json.setAddTypeInfo(false); // Crossfade's records carry no Java type either
            this.factory = new DefaultKafkaProducerFactory<>(p, new StringSerializer(), json);
            this.template = new KafkaTemplate<>(factory);
            template.setDefaultTopic(topic);
        }

        /**
         * Sends {@code n} jobs in calls of {@code batch}, each call returning once its sends are acknowledged (as
         * {@code enqueueAll} does), and returns jobs/s; building the messages is timed, as building Crossfade's jobs is.
         */
        double send(int n, int batch) {
            long t0 = System.nanoTime();
            List<CompletableFuture<SendResult<String, JobMessage>>> pending = new ArrayList<>(batch);
            for (int i = 0; i < n; i += batch) {
                int count = Math.min(batch, n - i);
                double now = System.currentTimeMillis() / 1000.0;
                for (int k = 0; k < count; k++) {
                    JobMessage m = new JobMessage(
                            Payloads.CLASS, List.of((long) i + k, filler), Jid.next(), "default", now, now, true);
                    pending.add(template.sendDefault(m.jid(), m));
                }
                template.flush();
                CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new))
                        .join();
                pending.clear();
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        }

        @Override
        public void close() {
            factory.destroy();
        }
    }

    /**
     * Processes the next {@code n} records of {@code topic} with a {@link ConcurrentMessageListenerContainer}
     * (concurrency = partitions, batch acknowledgement, a no-op record listener) in consumer group {@code group}, and
     * returns jobs/s from the first record's start to the n-th record's finish.
     */
    double processGroup(String topic, String group, int partitions, int n) {
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        DefaultKafkaConsumerFactory<String, JobMessage> factory = new DefaultKafkaConsumerFactory<>(
                c, new StringDeserializer(), new JacksonJsonDeserializer<>(JobMessage.class, false));
        ContainerProperties props = new ContainerProperties(topic);
        props.setGroupId(group);
        props.setAckMode(ContainerProperties.AckMode.BATCH);
        Counter counter = new Counter();
        props.setMessageListener((MessageListener<String, JobMessage>) counter::onMessage);
        ConcurrentMessageListenerContainer<String, JobMessage> container =
                new ConcurrentMessageListenerContainer<>(factory, props);
        container.setConcurrency(partitions);
        return counter.run(container, n);
    }

    /**
     * Processes the next {@code n} records of {@code topic} with a {@link ShareKafkaMessageListenerContainer} of
     * {@code threads} share consumers (implicit acknowledgement, a no-op record listener) in share group {@code group}.
     */
    double processShare(String topic, String group, int threads, int n) {
        Map<String, Object> c = new HashMap<>();
        c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        DefaultShareConsumerFactory<String, JobMessage> factory = new DefaultShareConsumerFactory<>(
                c, new StringDeserializer(), new JacksonJsonDeserializer<>(JobMessage.class, false), true);
        ContainerProperties props = new ContainerProperties(topic);
        props.setGroupId(group);
        Counter counter = new Counter();
        props.setMessageListener((MessageListener<String, JobMessage>) counter::onMessage);
        ShareKafkaMessageListenerContainer<String, JobMessage> container =
                new ShareKafkaMessageListenerContainer<>(factory, props);
        container.setConcurrency(threads);
        return counter.run(container, n);
    }

    /** Counts no-op deliveries, remembering the first start and the last finish, as {@link Probe} does for Crossfade. */
    private static final class Counter {
        private final LongAdder finished = new LongAdder();
        private final AtomicLong firstStart = new AtomicLong();
        private final LongAccumulator lastFinish = new LongAccumulator(Math::max, 0);

        void onMessage(ConsumerRecord<String, JobMessage> record) {
            firstStart.compareAndSet(0, System.nanoTime());
            if (record.value() == null) {
                throw new IllegalStateException("no job in record " + record.offset());
            }
            finished.increment();
            lastFinish.accumulate(System.nanoTime());
        }

        double run(MessageListenerContainer container, int n) {
            container.start();
            try {
                long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
                while (finished.sum() < n) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("Spring Kafka processed only " + finished.sum() + " of " + n);
                    }
                    LockSupport.parkNanos(Duration.ofMillis(1).toNanos());
                }
            } finally {
                container.stop();
            }
            return n / ((lastFinish.get() - firstStart.get()) / 1e9);
        }
    }
}
