package dev.crossfade.devservices;

/**
 * A Kafka cluster that code under test can talk to, wherever it runs: a local child-JVM broker, a container, or a cluster
 * named by {@code CROSSFADE_KAFKA_BOOTSTRAP}. Tests depend on this interface rather than on {@link LocalKafka} so the same
 * test runs against all three; only fault drills, which must kill or freeze the broker, need {@link #isControllable()}.
 */
public interface KafkaService extends AutoCloseable {

    /** The {@code bootstrap.servers} value for clients, e.g. {@code 127.0.0.1:39092}. */
    String bootstrapServers();

    /**
     * Whether this handle can kill, restart and freeze the broker. Only {@link LocalKafka} can; an external or
     * containerised cluster cannot, so fault tests must check this (or create their own {@link LocalKafka}).
     */
    boolean isControllable();

    /** Releases the cluster if this handle owns it; for external clusters it does nothing. */
    @Override
    void close();
}
