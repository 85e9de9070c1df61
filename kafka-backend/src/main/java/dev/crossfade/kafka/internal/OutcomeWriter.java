package dev.crossfade.kafka.internal;

import dev.crossfade.api.Jid;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.InvalidPayloadException;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.kafka.DeadLetter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The write-back role (Sidekiq's {@code job_retry.rb}): durably stores what an outcome of the execution core asks for
 * before the record may be committed or acknowledged, and answers with the record's {@link Verdict}. Every record ends
 * somewhere. {@link JobExecution} runs the jobs and hands their outcomes here.
 *
 * <ul>
 *   <li>{@link Outcome.Retry}: the updated job goes to the delay tiers of its queue (the one its {@code retry_queue}
 *   names, as in Sidekiq, else its own), due at {@code dueAt}; the failing record is
 *   then finished, so a failing job never blocks its partition.</li>
 *   <li>{@link Outcome.Dead} (retries spent, unknown worker, malformed payload): the dead job goes to
 *   {@code <topic>.dlq} with headers naming the source topic, partition, offset, attempts, error class and message.
 *   Only the failing record goes there, never its batch.</li>
 *   <li>A write the broker can never take (the job grew past {@code max.request.size}, the topic refuses it, the
 *   producer is not authorized, ...): a truncated envelope goes to the DLQ instead, of class
 *   {@value DeadLetter#TRUNCATED_JOB_CLASS}, with the job's class, jid and queue, a preview of its args, its error
 *   class, and a message naming the fault ({@code retry write refused: record too large (...)}). When even that is
 *   refused, the record is finished as dead all the same, logged with the envelope and counted
 *   ({@code crossfade.kafka.dead.unstored}); a partition never waits on a write that cannot succeed.</li>
 * </ul>
 * A write that fails for a reason that may pass is retried with backoff until the broker acknowledges it or the
 * record's partition is taken away; the record is finished only after the ack, so nothing is lost between the two.
 * With a meter registry, counters {@code crossfade.kafka.dead.truncated} and {@code crossfade.kafka.dead.unstored}
 * (tag {@code topic}, the source topic) count the two fallbacks. Thread-safe.
 */
public final class OutcomeWriter {
    private static final Logger log = LoggerFactory.getLogger(OutcomeWriter.class);
    /** Of a malformed payload, the DLQ keeps this much, as the execution core does. */
    private static final int PREVIEW_CHARS = 2_000;

    private static final int HEADER_MESSAGE_CHARS = 1_000;

    private final Producer<byte[], byte[]> producer;
    private final Topics topics;
    private final RecordSize sizes;
    private final DurableSend durable;
    private final MeterRegistry registry;
    // Decodes any record the workers may meet (and re-encodes it): the record-size check is what bounds writes.
    private final JobCodec codec;

    public OutcomeWriter(
            Producer<byte[], byte[]> producer,
            Topics topics,
            RecordSize sizes,
            Duration ackTimeout,
            MeterRegistry registry) {
        this.producer = producer;
        this.topics = topics;
        this.sizes = sizes;
        this.durable = new DurableSend(producer, ackTimeout);
        this.registry = registry;
        this.codec = JobCodec.builder()
                .maxPayloadBytes(Math.max(sizes.maxRequestSize(), 2 * JobCodec.DEFAULT_MAX_PAYLOAD_BYTES))
                .build();
    }

    public JobCodec codec() {
        return codec;
    }

    public RecordSize sizes() {
        return sizes;
    }

    /** Sends a job to the delay tier for its remaining delay: the scheduler's hops. */
    public Future<RecordMetadata> schedule(String queue, byte[] key, byte[] value, Job job, long dueMillis) {
        return producer.send(scheduled(queue, key, value, job, dueMillis));
    }

    /** The delay-tier record of a job due at {@code dueMillis}. */
    public ProducerRecord<byte[], byte[]> scheduled(String queue, byte[] key, byte[] value, Job job, long dueMillis) {
        long now = System.currentTimeMillis();
        Duration tier = topics.tierFor(dueMillis - now);
        long hop = Math.min(now + tier.toMillis(), dueMillis);
        RecordHeaders h = Hdr.jobHeaders(job);
        h.add(Hdr.DUE, Hdr.bytes(dueMillis));
        h.add(Hdr.HOP, Hdr.bytes(hop));
        h.add(Hdr.TARGET, Hdr.bytes(job.shadow() ? topics.shadow(queue) : topics.jobs(queue)));
        return new ProducerRecord<>(topics.delay(queue, tier), null, null, key, value, h);
    }

    /** Sends a dead job to the DLQ of {@code queue}, with headers naming where it failed and why. */
    public Future<RecordMetadata> deadLetter(
            String queue, byte[] key, Job dead, Throwable error, String sourceTopic, int partition, long offset) {
        return producer.send(deadRecord(queue, key, dead, error, sourceTopic, partition, offset));
    }

    private ProducerRecord<byte[], byte[]> deadRecord(
            String queue, byte[] key, Job dead, Throwable error, String sourceTopic, int partition, long offset) {
        RecordHeaders h = Hdr.jobHeaders(dead);
        h.add(Hdr.SOURCE_TOPIC, Hdr.bytes(sourceTopic));
        h.add(Hdr.SOURCE_PARTITION, Hdr.bytes(partition));
        h.add(Hdr.SOURCE_OFFSET, Hdr.bytes(offset));
        h.add(Hdr.ATTEMPTS, Hdr.bytes(dead.retryCount() == null ? 1 : dead.retryCount() + 1));
        String errorClass = dead.errorClass() != null
                ? dead.errorClass()
                : error != null ? error.getClass().getName() : "unknown";
        String message = dead.errorMessage() != null
                ? dead.errorMessage()
                : error != null ? String.valueOf(error.getMessage()) : "";
        h.add(Hdr.ERROR_CLASS, Hdr.bytes(errorClass));
        // Header values are for humans and tools; the full message is in the job JSON.
        h.add(Hdr.ERROR_MESSAGE, Hdr.bytes(shorten(message, HEADER_MESSAGE_CHARS)));
        return new ProducerRecord<>(topics.dlq(queue), null, null, key, codec.encode(dead), h);
    }

    /**
     * Schedules the retried job in the delay tiers of its retry queue, due at the outcome's {@code dueAt}. Never
     * throws.
     *
     * @param queue the queue the record was read from
     * @param gone  whether the record's partition was taken away (then a pending write is given up)
     */
    public Verdict retry(ConsumerRecord<byte[], byte[]> r, String queue, Outcome.Retry retry, BooleanSupplier gone) {
        Job next = retry.job();
        String target = retryQueue(queue, next);
        ProducerRecord<byte[], byte[]> record;
        try {
            record = scheduled(
                    target, r.key(), codec.encode(next), next, retry.dueAt().toEpochMilli());
        } catch (RuntimeException e) {
            return truncated(r, queue, next, "retry write refused: " + DurableSend.describe(e), gone);
        }
        return store(record, r, queue, next, "retry", Verdict.ACCEPT, gone);
    }

    /**
     * The queue a retry goes to: the one the retried job names (Sidekiq's {@code retry_queue}, which the execution
     * core has written into it), its topics made ready; the source queue when that name cannot be a Kafka queue or its
     * topics cannot be made (strict mode), so the retry is kept rather than lost.
     */
    private String retryQueue(String source, Job next) {
        String wanted = next.queue();
        if (wanted == null || wanted.equals(source) || next.extra().get("retry_queue") == null) {
            return source;
        }
        try {
            topics.ensure(Topics.checkQueue(wanted));
            return wanted;
        } catch (RuntimeException e) {
            log.warn(
                    "job {}: retry_queue '{}' is not usable on Kafka ({}); retrying on {}",
                    next.jid(),
                    wanted,
                    e.getMessage(),
                    source);
            return source;
        }
    }

    /**
     * Dead-letters a record as is (share mode's delivery limit, or a fault while settling it), the fault as its
     * error. Never throws.
     *
     * @return {@link Verdict#REJECT}, or {@link Verdict#UNFINISHED} when the chunk was closed or the thread interrupted first
     */
    public Verdict deadLetterRaw(ConsumerRecord<byte[], byte[]> r, Throwable error, Chunk chunk) {
        return deadLetterRaw(topics.queueOf(r.topic()), r, error, chunk::isClosed);
    }

    /**
     * As {@link #deadLetterRaw(ConsumerRecord, Throwable, Chunk)}, to the DLQ of {@code queue} (the scheduler's
     * records sit in delay topics), giving up a pending write once {@code gone} says so.
     */
    public Verdict deadLetterRaw(
            String queue, ConsumerRecord<byte[], byte[]> r, Throwable error, BooleanSupplier gone) {
        try {
            Job job;
            try {
                job = codec.decode(r.value());
            } catch (RuntimeException | StackOverflowError e) {
                job = invalidPayload(r.value(), queue, e);
            }
            Job dead = job.toBuilder()
                    .errorClass(
                            error instanceof PoisonPill
                                    ? POISON_PILL_CLASS
                                    : error.getClass().getName())
                    .errorMessage(shorten(String.valueOf(error.getMessage()), 4_000))
                    .failedAt(Instant.now())
                    .retryCount(job.retryCount() == null ? 0 : job.retryCount())
                    .build();
            return dead(r, queue, dead, error, gone);
        } catch (Throwable t) {
            return unstored(r, null, "cannot dead-letter (" + error + "): " + t, t);
        }
    }

    /**
     * Dead-letters a job that was in flight in {@code deaths} worker processes that died (the last time running alone
     * in its partition), instead of running it again: error class {@value #POISON_PILL_CLASS}, as on Redis. Never
     * throws.
     *
     * @return {@link Verdict#REJECT}, or {@link Verdict#UNFINISHED} when the chunk was closed or the thread interrupted first
     */
    public Verdict deadLetterPoison(ConsumerRecord<byte[], byte[]> r, int deaths, int maxRecoveries, Chunk chunk) {
        String why = "job was in flight in " + deaths + " worker processes that died (crashed, killed or stuck past "
                + "revokeTimeout) before finishing it, the last time running alone in its partition; sent to the DLQ "
                + "so it cannot take down more workers (maxRecoveries = " + maxRecoveries + ")";
        return deadLetterRaw(topics.queueOf(r.topic()), r, new PoisonPill(why), chunk::isClosed);
    }

    /** error_class of jobs dead-lettered because they kept killing their worker processes, as on Redis. */
    static final String POISON_PILL_CLASS = "crossfade.PoisonPill";

    /** The error of a poison pill; its class name in the DLQ is {@value #POISON_PILL_CLASS}. */
    private static final class PoisonPill extends RuntimeException {
        PoisonPill(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The envelope of a payload that is not a job: class {@value ExecutionCore#INVALID_PAYLOAD_CLASS}, the payload
     * (its first 64 Ki chars) as its one arg, the error as its error fields.
     */
    public static Job invalidPayload(byte[] raw, String queue, Throwable error) {
        return ExecutionCore.invalidPayloadEnvelope(raw, queue, error, Instant.now());
    }

    /** Writes a dead job to the DLQ of {@code queue}. Never throws. */
    public Verdict dead(
            ConsumerRecord<byte[], byte[]> r, String queue, Job dead, Throwable error, BooleanSupplier gone) {
        ProducerRecord<byte[], byte[]> record;
        try {
            record = deadRecord(queue, r.key(), dead, error, r.topic(), r.partition(), r.offset());
        } catch (RuntimeException e) {
            return truncated(r, queue, dead, "dead-letter write refused: " + DurableSend.describe(e), gone);
        }
        return store(record, r, queue, dead, "dead letter", Verdict.REJECT, gone);
    }

    /** Writes an outcome; a write that can never succeed dead-letters a truncated envelope instead. */
    private Verdict store(
            ProducerRecord<byte[], byte[]> record,
            ConsumerRecord<byte[], byte[]> r,
            String queue,
            Job job,
            String kind,
            Verdict verdict,
            BooleanSupplier gone) {
        String what = kind + " of job " + job.jid() + " from " + r.topic() + "-" + r.partition() + "@" + r.offset();
        String tooLarge = sizes.tooLarge(record);
        if (tooLarge != null) {
            log.warn("{} refused: {}", what, tooLarge);
            return truncated(r, queue, job, kind + " write refused: " + tooLarge, gone);
        }
        DurableSend.Result sent = durable.send(record, gone, what);
        return switch (sent.status()) {
            case ACKED -> verdict;
            case ABANDONED -> Verdict.UNFINISHED;
            case REFUSED ->
                truncated(r, queue, job, kind + " write refused: " + DurableSend.describe(sent.refusal()), gone);
        };
    }

    /**
     * Dead-letters a small stand-in for a job whose own record cannot be written, so the record still ends in the
     * DLQ with the reason; when even that is refused, finishes it as dead without a copy ({@link #unstored}).
     */
    private Verdict truncated(
            ConsumerRecord<byte[], byte[]> r, String queue, Job job, String reason, BooleanSupplier gone) {
        Job envelope;
        ProducerRecord<byte[], byte[]> record;
        try {
            envelope = envelope(job, r.value(), queue, reason);
            record = deadRecord(queue, Hdr.bytes(envelope.jid()), envelope, null, r.topic(), r.partition(), r.offset());
            String cls = job != null ? job.className() : ExecutionCore.INVALID_PAYLOAD_CLASS;
            record.headers().add(Hdr.ORIGINAL_CLASS, Hdr.bytes(shorten(cls, HEADER_MESSAGE_CHARS)));
        } catch (RuntimeException e) {
            return unstored(r, null, reason + "; no envelope could be made: " + e, e);
        }
        count(
                "crossfade.kafka.dead.truncated",
                r.topic(),
                "dead letters written as a truncated envelope because " + "the job's own record could not be written");
        String tooLarge = sizes.tooLarge(record);
        if (tooLarge != null) {
            return unstored(r, envelope, reason + "; the envelope too: " + tooLarge, null);
        }
        DurableSend.Result sent = durable.send(
                record,
                gone,
                "truncated dead letter of job " + envelope.jid() + " from " + r.topic() + "-" + r.partition() + "@"
                        + r.offset());
        return switch (sent.status()) {
            case ACKED -> Verdict.REJECT;
            case ABANDONED -> Verdict.UNFINISHED;
            case REFUSED ->
                unstored(
                        r,
                        envelope,
                        reason + "; the envelope too: " + DurableSend.describe(sent.refusal()),
                        sent.refusal());
        };
    }

    /** The stand-in: the job's class, jid, queue and error class, a preview of its args, and the reason. */
    private static Job envelope(Job job, byte[] raw, String queue, String reason) {
        String args;
        if (job != null) {
            try {
                args = job.args().toString();
            } catch (RuntimeException e) {
                args = "(args unreadable: " + e.getMessage() + ")";
            }
        } else {
            args = raw == null
                    ? ""
                    : new String(raw, 0, Math.min(raw.length, 4 * PREVIEW_CHARS), StandardCharsets.UTF_8);
        }
        String jobError = job == null || job.errorMessage() == null
                ? ""
                : "; the job's error: " + shorten(job.errorMessage(), HEADER_MESSAGE_CHARS);
        return Job.builder(DeadLetter.TRUNCATED_JOB_CLASS)
                .jid(job != null ? shorten(job.jid(), 100) : Jid.next())
                .queue(queue)
                .args(
                        job != null
                                ? shorten(job.className(), HEADER_MESSAGE_CHARS)
                                : ExecutionCore.INVALID_PAYLOAD_CLASS,
                        shorten(args, PREVIEW_CHARS),
                        raw == null ? 0 : raw.length)
                .createdAt(job != null ? job.createdAt() : Instant.now())
                .retry(false)
                .retryCount(job != null && job.retryCount() != null ? job.retryCount() : 0)
                .errorClass(
                        job != null && job.errorClass() != null
                                ? shorten(job.errorClass(), 500)
                                : InvalidPayloadException.class.getName())
                .errorMessage(reason + jobError)
                .failedAt(Instant.now())
                .build();
    }

    /** The last resort: the record is finished as dead without a DLQ copy, logged (with the envelope) and counted. */
    private Verdict unstored(ConsumerRecord<byte[], byte[]> r, Job envelope, String reason, Throwable cause) {
        count(
                "crossfade.kafka.dead.unstored",
                r.topic(),
                "records finished as dead although no DLQ write " + "succeeded (the log has their envelope)");
        String json;
        try {
            json = envelope == null ? "(none)" : new String(codec.encode(envelope), StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            json = "(unencodable: " + e + ")";
        }
        log.error(
                "{}-{}@{} finished as dead WITHOUT a dead letter: {}. Envelope: {}",
                r.topic(),
                r.partition(),
                r.offset(),
                reason,
                json,
                cause);
        return Verdict.REJECT;
    }

    private void count(String name, String topic, String description) {
        if (registry != null) {
            try {
                Counter.builder(name)
                        .tag("topic", topic)
                        .description(description)
                        .register(registry)
                        .increment();
            } catch (RuntimeException e) {
                log.debug("cannot count {}: {}", name, e.toString());
            }
        }
    }

    private static String shorten(String s, int max) {
        return s == null || s.length() <= max ? s : s.substring(0, max) + "…";
    }
}
