package dev.crossfade.kafka;

import dev.crossfade.api.Job;

import java.time.Instant;
import java.util.Map;

/**
 * One record of a dead-letter topic: the dead job (with Sidekiq's error fields) and where it sits.
 *
 * @param headers the record's headers as text: {@code source-topic}, {@code source-partition},
 *                {@code source-offset}, {@code attempts}, {@code error-class}, {@code error-message}, {@code class},
 *                {@code jid}, {@code attempt}
 */
public record DeadLetter(Job job, String topic, int partition, long offset, Instant timestamp,
                         Map<String, String> headers) {
}
