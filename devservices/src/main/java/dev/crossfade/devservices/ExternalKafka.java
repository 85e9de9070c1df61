package dev.crossfade.devservices;

import java.util.Objects;

/** A Kafka cluster someone else runs (named by {@code CROSSFADE_KAFKA_BOOTSTRAP}); this handle neither owns nor controls it. */
final class ExternalKafka implements KafkaService {
    private final String bootstrapServers;

    ExternalKafka(String bootstrapServers) {
        this.bootstrapServers =
                Objects.requireNonNull(bootstrapServers, "bootstrapServers").trim();
        if (this.bootstrapServers.isEmpty()) {
            throw new IllegalArgumentException("empty Kafka bootstrap servers");
        }
    }

    @Override
    public String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public boolean isControllable() {
        return false;
    }

    @Override
    public void close() {
        // not ours to stop
    }

    @Override
    public String toString() {
        return "ExternalKafka[" + bootstrapServers + "]";
    }
}
