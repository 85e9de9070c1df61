package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import org.apache.kafka.clients.producer.Producer;

/**
 * What a worker runtime is built from, handed over by the backend at construction: its settings, the properties of
 * the clients it makes, the topics, group set-up, the outcome writer, the lag monitor, and the producer its delay
 * schedulers forward with.
 */
public record RunnerParts(
        KafkaBackendConfig config,
        ClientProperties clients,
        Topics topics,
        ConsumerGroups groups,
        OutcomeWriter outcomes,
        LagMonitor lag,
        Producer<byte[], byte[]> producer) {}
