package dev.crossfade.devservices;

import java.net.URI;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The only class that touches Testcontainers, an optional dependency: {@link DevServices} loads it only when
 * containers were asked for, so a classpath without Testcontainers (or a machine without Docker) never fails here.
 */
final class ContainerServices {
    /** Overridable with the system property or environment variable {@code CROSSFADE_REDIS_IMAGE}. */
    static final String REDIS_IMAGE = DevServices.setting("CROSSFADE_REDIS_IMAGE", "redis:7");
    /**
     * The same Kafka version as the client jars (so share groups behave as with {@link LocalKafka}); overridable with
     * {@code CROSSFADE_KAFKA_IMAGE}.
     */
    static final String KAFKA_IMAGE =
            DevServices.setting("CROSSFADE_KAFKA_IMAGE", "apache/kafka:" + kafkaClientsVersion());

    private ContainerServices() {}

    /** The kafka-clients version from the jar's own version file (public API offers none), or "latest". */
    private static String kafkaClientsVersion() {
        try (var in = ContainerServices.class.getClassLoader().getResourceAsStream("kafka/kafka-version.properties")) {
            if (in != null) {
                java.util.Properties p = new java.util.Properties();
                p.load(in);
                return p.getProperty("version", "latest");
            }
        } catch (java.io.IOException e) {
            // fall through
        }
        return "latest";
    }

    /** Whether Testcontainers is on the classpath and finds a Docker engine; never throws. */
    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (LinkageError | RuntimeException e) {
            return false;
        }
    }

    static RedisService redis() {
        GenericContainer<?> container =
                new GenericContainer<>(DockerImageName.parse(REDIS_IMAGE)).withExposedPorts(6379);
        container.start();
        return new ContainerRedis(container);
    }

    static KafkaService kafka() {
        // Single node: internal topics of share groups must not ask for three replicas.
        KafkaContainer container = new KafkaContainer(KAFKA_IMAGE)
                .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
                .withEnv("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "1")
                .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
        container.start();
        return new ContainerKafka(container);
    }

    private static final class ContainerRedis implements RedisService {
        private final GenericContainer<?> container;

        ContainerRedis(GenericContainer<?> container) {
            this.container = container;
        }

        @Override
        public URI uri() {
            return URI.create("redis://" + host() + ":" + port());
        }

        @Override
        public String host() {
            return container.getHost();
        }

        @Override
        public int port() {
            return container.getMappedPort(6379);
        }

        @Override
        public boolean isControllable() {
            return false;
        }

        @Override
        public void close() {
            container.stop();
        }

        @Override
        public String toString() {
            return "ContainerRedis[" + REDIS_IMAGE + " at " + uri() + "]";
        }
    }

    private static final class ContainerKafka implements KafkaService {
        private final KafkaContainer container;

        ContainerKafka(KafkaContainer container) {
            this.container = container;
        }

        @Override
        public String bootstrapServers() {
            return container.getBootstrapServers();
        }

        @Override
        public boolean isControllable() {
            return false;
        }

        @Override
        public void close() {
            container.stop();
        }

        @Override
        public String toString() {
            return "ContainerKafka[" + KAFKA_IMAGE + " at " + bootstrapServers() + "]";
        }
    }
}
