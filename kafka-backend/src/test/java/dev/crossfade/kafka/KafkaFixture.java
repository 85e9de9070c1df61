package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.tck.BackendFixture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/** The contract suite's view of a Kafka backend whose topic prefix is the test's namespace. */
final class KafkaFixture implements BackendFixture {
    private final KafkaBackend backend;
    private final KafkaService broker;

    KafkaFixture(KafkaBackend backend) {
        this(backend, null);
    }

    /** A fixture that may freeze {@code broker} when it is a local process (the contract's time-limit scenario). */
    KafkaFixture(KafkaBackend backend, KafkaService broker) {
        this.backend = backend;
        this.broker = broker;
    }

    @Override
    public Optional<Freezable> server() {
        if (broker instanceof LocalKafka local) {
            return Optional.of(Freezable.of(local::pause, local::resume));
        }
        return Optional.empty();
    }

    /** Test-friendly settings: few partitions, fast heartbeats so rebalances and takeovers take about a second. */
    static KafkaBackendConfig.Builder config(String bootstrap, String prefix, KafkaBackendConfig.Mode mode) {
        KafkaBackendConfig.Builder b = KafkaBackendConfig.custom()
                .bootstrapServers(bootstrap)
                .topicPrefix(prefix)
                .mode(mode)
                .partitions(3)
                .delayTiers(List.of(Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofMinutes(5)))
                .fetchMaxWait(Duration.ofMillis(50))
                .commitInterval(Duration.ofMillis(200))
                .enqueueTimeout(Duration.ofSeconds(30))
                .groupConfig("consumer.heartbeat.interval.ms", "500")
                .groupConfig("consumer.session.timeout.ms", "6000");
        if (mode == KafkaBackendConfig.Mode.SHARE) {
            b.groupConfig("share.heartbeat.interval.ms", "500").groupConfig("share.session.timeout.ms", "6000");
        }
        return b;
    }

    KafkaBackend kafka() {
        return backend;
    }

    @Override
    public Backend backend() {
        return Backend.KAFKA;
    }

    @Override
    public JobQueue queue() {
        return backend.queue();
    }

    @Override
    public WorkerRuntime workers(ExecutionCore core, Set<String> queues, int concurrency) {
        return backend.workers(core, queues, concurrency);
    }

    @Override
    public void pushRaw(String queue, byte[] payload) {
        backend.topics().ensure(queue);
        try (KafkaProducer<byte[], byte[]> p =
                new KafkaProducer<>(backend.clients().producer())) {
            p.send(new ProducerRecord<>(backend.topics().jobs(queue), payload)).get(20, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("cannot push raw bytes to queue " + queue, e);
        }
    }

    /** Every DLQ topic of this prefix, read from the beginning and decoded. */
    @Override
    public List<Job> dead() {
        String prefix = backend.config().topicPrefix() + ".";
        List<Job> out = new ArrayList<>();
        try (Admin admin = Admin.create(backend.clients().admin())) {
            for (String t : admin.listTopics().names().get(20, TimeUnit.SECONDS)) {
                if (t.startsWith(prefix) && t.endsWith(".dlq")) {
                    String queue = t.substring(prefix.length(), t.length() - ".dlq".length());
                    backend.admin().deadLetters(queue, Integer.MAX_VALUE).forEach(d -> out.add(d.job()));
                }
            }
        } catch (Exception e) {
            throw new AssertionError("cannot read the DLQ topics of " + prefix, e);
        }
        return out;
    }

    @Override
    public void close() {
        backend.close();
    }
}
