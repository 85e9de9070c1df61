package dev.crossfade.api;

/**
 * What moving one queue's jobs from one backend to the other moved ({@code RedisAdmin.transfer},
 * {@code KafkaAdmin.transfer}, {@code crossfade transfer}).
 *
 * @param pending   jobs that were waiting to run, sent to the target
 * @param scheduled scheduled jobs, sent with their due time
 * @param retries   jobs waiting for a retry, sent due at their retry time
 * @param invalid   payloads that are not jobs, left behind (Redis) or sent to the queue's DLQ (Kafka)
 */
public record Transferred(long pending, long scheduled, long retries, long invalid) {
    /** Jobs the target accepted. */
    public long total() {
        return pending + scheduled + retries;
    }
}
