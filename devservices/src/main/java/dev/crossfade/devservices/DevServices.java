package dev.crossfade.devservices;

import java.net.URI;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks where the Redis and Kafka for a test run or the demo come from, so the same code runs on a laptop, on CI
 * without Docker, and against a shared staging server. The choice, first match wins:
 *
 * <ol>
 *   <li>{@value #REDIS_URL} / {@value #KAFKA_BOOTSTRAP} (system property or environment variable) names an
 *       <em>external</em> server: used as is, never started or stopped, not controllable;</li>
 *   <li>{@value #TESTCONTAINERS}{@code =true} and a Docker engine is reachable: a Testcontainers container (Testcontainers
 *       is an optional dependency and is loaded only on this path);</li>
 *   <li>otherwise a {@link LocalRedis} / {@link LocalKafka} child process.</li>
 * </ol>
 *
 * <p>The caller owns what it gets and must {@link AutoCloseable#close() close} it. Tests should rather use the JUnit
 * extension {@code dev.crossfade.devservices.junit.CrossfadeServices} (in crossfade-tck), which shares one of each per
 * JVM.
 */
public final class DevServices {
    private static final Logger LOG = LoggerFactory.getLogger(DevServices.class);

    /** Names an external Redis, e.g. {@code redis://localhost:6379/0}. */
    public static final String REDIS_URL = "CROSSFADE_REDIS_URL";
    /** Names an external Kafka, e.g. {@code localhost:9092}. */
    public static final String KAFKA_BOOTSTRAP = "CROSSFADE_KAFKA_BOOTSTRAP";
    /** {@code true} to prefer Testcontainers when Docker is available. */
    public static final String TESTCONTAINERS = "CROSSFADE_TESTCONTAINERS";

    private DevServices() {}

    /** A started Redis with the default local configuration; see the class comment for where it comes from. */
    public static RedisService redis() {
        return redis(LocalRedis.builder());
    }

    /**
     * A started Redis; {@code local} configures it only if the local process is chosen.
     *
     * @throws DevServiceException if the chosen server cannot be started
     */
    public static RedisService redis(LocalRedis.Builder local) {
        String url = setting(REDIS_URL, null);
        if (url != null) {
            ExternalRedis external = new ExternalRedis(URI.create(url));
            LOG.info("using external Redis {} from {}", external, REDIS_URL);
            return external;
        }
        if (containersWanted()) {
            RedisService container = ContainerServices.redis();
            LOG.info("using {}", container);
            return container;
        }
        return local.build().start();
    }

    /** A started Kafka with the default local configuration; see the class comment for where it comes from. */
    public static KafkaService kafka() {
        return kafka(LocalKafka.builder());
    }

    /**
     * A started Kafka; {@code local} configures it only if the local broker is chosen.
     *
     * @throws DevServiceException if the chosen broker cannot be started
     */
    public static KafkaService kafka(LocalKafka.Builder local) {
        String bootstrap = setting(KAFKA_BOOTSTRAP, null);
        if (bootstrap != null) {
            ExternalKafka external = new ExternalKafka(bootstrap);
            LOG.info("using external Kafka {} from {}", external, KAFKA_BOOTSTRAP);
            return external;
        }
        if (containersWanted()) {
            KafkaService container = ContainerServices.kafka();
            LOG.info("using {}", container);
            return container;
        }
        return local.build().start();
    }

    private static boolean containersWanted() {
        if (!"true".equals(setting(TESTCONTAINERS, "false").toLowerCase(Locale.ROOT))) {
            return false;
        }
        try {
            Class.forName("org.testcontainers.DockerClientFactory", false, DevServices.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            LOG.warn("{}=true but Testcontainers is not on the classpath; using local processes", TESTCONTAINERS);
            return false;
        }
        boolean docker;
        try {
            docker = ContainerServices.dockerAvailable();
        } catch (LinkageError e) {
            docker = false;
        }
        if (!docker) {
            LOG.warn("{}=true but no Docker engine is reachable; using local processes", TESTCONTAINERS);
        }
        return docker;
    }

    /** A system property, else an environment variable of the same name, else the default; blank counts as unset. */
    static String setting(String name, String defaultValue) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            value = System.getenv(name);
        }
        return value == null || value.isBlank() ? defaultValue : value.trim();
    }
}
