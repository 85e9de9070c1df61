package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.kafka.internal.Chunk;
import dev.crossfade.kafka.internal.Hdr;
import dev.crossfade.kafka.internal.Topics;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The retry and dead-letter role: runs a fetched record through the execution core and durably stores what the
 * outcome asks for before the record may be committed or acknowledged.
 *
 * <ul>
 *   <li>{@link Outcome.Retry}: the updated job goes to the delay tiers, due at {@code dueAt}; the failing record is
 *   then finished, so a failing job never blocks its partition.</li>
 *   <li>{@link Outcome.Dead} (retries spent, unknown worker, malformed payload): the dead job goes to
 *   {@code <topic>.dlq} with headers naming the source topic, partition, offset, attempts, error class and message.
 *   Only the failing record goes there, never its batch.</li>
 * </ul>
 * A write that fails is retried with backoff until the broker acknowledges it or the record's partition is taken
 * away; the record is finished only after the ack, so nothing is lost between the two. Thread-safe.
 */
final class RetryAndDlq {
    /** Verdicts, as share mode acknowledges them. */
    static final byte ACCEPT = 1;
    static final byte REJECT = 2;

    private static final Logger log = LoggerFactory.getLogger(RetryAndDlq.class);

    private final Producer<byte[], byte[]> producer;
    private final Topics topics;
    // Internal re-writes may grow a job by its error fields; the consumer's codec still enforces its own limit.
    private final JobCodec codec = JobCodec.builder().maxPayloadBytes(2 * JobCodec.DEFAULT_MAX_PAYLOAD_BYTES).build();
    private final Duration ackTimeout;

    RetryAndDlq(Producer<byte[], byte[]> producer, Topics topics, Duration ackTimeout) {
        this.producer = producer;
        this.topics = topics;
        this.ackTimeout = ackTimeout;
    }

    JobCodec codec() {
        return codec;
    }

    /**
     * Sends a job to the delay tier for its remaining delay. Used by {@code enqueueAt}, by retries and by the
     * scheduler's hops.
     */
    Future<RecordMetadata> schedule(String queue, byte[] key, byte[] value, Job job, long dueMillis) {
        long now = System.currentTimeMillis();
        Duration tier = topics.tierFor(dueMillis - now);
        long hop = Math.min(now + tier.toMillis(), dueMillis);
        RecordHeaders h = jobHeaders(job);
        h.add(Hdr.DUE, Hdr.bytes(dueMillis));
        h.add(Hdr.HOP, Hdr.bytes(hop));
        h.add(Hdr.TARGET, Hdr.bytes(topics.jobs(queue)));
        return producer.send(new ProducerRecord<>(topics.delay(queue, tier), null, null, key, value, h));
    }

    /** Sends a dead job to the DLQ of {@code queue}, with headers naming where it failed and why. */
    Future<RecordMetadata> deadLetter(String queue, byte[] key, Job dead, Throwable error, String sourceTopic,
                                      int partition, long offset) {
        RecordHeaders h = jobHeaders(dead);
        h.add(Hdr.SOURCE_TOPIC, Hdr.bytes(sourceTopic));
        h.add(Hdr.SOURCE_PARTITION, Hdr.bytes(partition));
        h.add(Hdr.SOURCE_OFFSET, Hdr.bytes(offset));
        h.add(Hdr.ATTEMPTS, Hdr.bytes(dead.retryCount() == null ? 1 : dead.retryCount() + 1));
        String errorClass = dead.errorClass() != null ? dead.errorClass()
                : error != null ? error.getClass().getName() : "unknown";
        String message = dead.errorMessage() != null ? dead.errorMessage()
                : error != null ? String.valueOf(error.getMessage()) : "";
        h.add(Hdr.ERROR_CLASS, Hdr.bytes(errorClass));
        // Header values are for humans and tools; the full message is in the job JSON.
        h.add(Hdr.ERROR_MESSAGE, Hdr.bytes(message.length() > 1000 ? message.substring(0, 1000) + "…" : message));
        return producer.send(new ProducerRecord<>(topics.dlq(queue), null, null, key, codec.encode(dead), h));
    }

    static RecordHeaders jobHeaders(Job job) {
        return jobHeaders(job, Hdr.bytes(job.jid()));
    }

    /** As {@link #jobHeaders(Job)}, with the jid already encoded (the producer also uses it as the key). */
    static RecordHeaders jobHeaders(Job job, byte[] jid) {
        // From an array: the list is made at its size, where add() would grow it (a tenth of a raw send's cost).
        return new RecordHeaders(new Header[]{new RecordHeader(Hdr.CLASS, Hdr.bytes(job.className())),
                new RecordHeader(Hdr.JID, jid), new RecordHeader(Hdr.ATTEMPT, Hdr.bytes(job.attempt()))});
    }

    /**
     * Runs one fetched record and stores its outcome durably.
     *
     * @return the verdict ({@link #ACCEPT} or {@link #REJECT}), or 0 when the record is not finished (its chunk was
     *         closed while a write was pending): it must then stay uncommitted / be released
     */
    byte run(ExecutionCore core, ConsumerRecord<byte[], byte[]> r, Chunk chunk) {
        String queue = topics.queueOf(r.topic());
        Outcome outcome = core.execute(r.value(), Backend.KAFKA, queue);
        if (outcome instanceof Outcome.Succeeded || outcome instanceof Outcome.Discarded) {
            return ACCEPT;
        }
        if (chunk.isClosed()) {
            // The partition is gone: another consumer runs this record again, so do not store a second copy.
            return 0;
        }
        try {
            if (outcome instanceof Outcome.Retry retry) {
                Job next = retry.job();
                byte[] value = codec.encode(next);
                boolean ok = durably(() -> schedule(queue, r.key(), value, next, retry.dueAt().toEpochMilli()),
                        chunk, "retry of job " + next.jid() + " from " + r.topic());
                return ok ? ACCEPT : 0;
            }
            Outcome.Dead dead = (Outcome.Dead) outcome;
            boolean ok = durably(() -> deadLetter(queue, r.key(), dead.job(), dead.error(), r.topic(), r.partition(),
                    r.offset()), chunk, "dead letter of job " + dead.job().jid() + " from " + r.topic());
            return ok ? REJECT : 0;
        } catch (RuntimeException e) {
            // Our own bug or an unencodable job: park it in the DLQ rather than block the partition forever.
            log.error("cannot store the outcome of {}-{}@{}; dead-lettering it", r.topic(), r.partition(), r.offset(),
                    e);
            return deadLetterRaw(r, e, chunk) ? REJECT : 0;
        }
    }

    /** Dead-letters a record as is (share mode's delivery limit, or when the outcome could not be stored). */
    boolean deadLetterRaw(ConsumerRecord<byte[], byte[]> r, Throwable error, Chunk chunk) {
        String queue = topics.queueOf(r.topic());
        Job job;
        try {
            job = codec.decode(r.value());
        } catch (RuntimeException e) {
            job = Job.builder(ExecutionCore.INVALID_PAYLOAD_CLASS)
                    .args(r.value() == null ? "" : new String(r.value(), java.nio.charset.StandardCharsets.UTF_8))
                    .queue(queue).retry(false).build();
        }
        Job dead = job.toBuilder().errorClass(error.getClass().getName())
                .errorMessage(String.valueOf(error.getMessage())).failedAt(Instant.now())
                .retryCount(job.retryCount() == null ? 0 : job.retryCount()).build();
        return durably(() -> deadLetter(queue, r.key(), dead, error, r.topic(), r.partition(), r.offset()), chunk,
                "dead letter of job " + dead.jid() + " from " + r.topic());
    }

    /**
     * Sends until acknowledged, backing off between failures, unless the chunk is closed meanwhile.
     *
     * @return whether the broker acknowledged the write
     */
    private boolean durably(Supplier<Future<RecordMetadata>> send, Chunk chunk, String what) {
        long backoff = 100;
        for (int attempt = 1; ; attempt++) {
            try {
                send.get().get(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
                return true;
            } catch (ExecutionException | TimeoutException e) {
                Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
                log.warn("{} not acknowledged (attempt {}): {}; retrying in {} ms", what, attempt, cause.toString(),
                        backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } catch (org.apache.kafka.common.KafkaException e) {
                // send() itself failed (metadata timeout, producer closed).
                log.warn("{} could not be sent (attempt {}): {}", what, attempt, e.toString());
                if (e instanceof org.apache.kafka.common.errors.InterruptException) {
                    return false;
                }
            }
            if (chunk.isClosed()) {
                return false;
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            backoff = Math.min(backoff * 2, 5_000);
        }
    }
}
