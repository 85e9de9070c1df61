package dev.crossfade.kafka.internal;

import dev.crossfade.api.codec.InvalidPayloadException;
import io.github.resilience4j.core.IntervalFunction;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.InvalidRequiredAcksException;
import org.apache.kafka.common.errors.InvalidTimestampException;
import org.apache.kafka.common.errors.InvalidTopicException;
import org.apache.kafka.common.errors.RecordBatchTooLargeException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a record until the broker acknowledges it, telling failures that may pass (timeouts, not enough replicas, a
 * leader moving: retried with exponential backoff and jitter) from final ones, which the same record meets on every
 * try (too large, invalid, not authorized, not serializable): those are reported at once so the caller can store
 * something else instead of wedging its partition. Thread-safe.
 */
public final class DurableSend {
    /** How a send ended. */
    enum Status {
        /** The broker acknowledged the record. */
        ACKED,
        /** Given up without a verdict: the caller's work was taken away (its partition, the runtime) meanwhile. */
        ABANDONED,
        /** The record can never be written; {@link Result#refusal()} says why. */
        REFUSED
    }

    public record Result(Status status, Throwable refusal) {
        static final Result ACKED = new Result(Status.ACKED, null);
        static final Result ABANDONED = new Result(Status.ABANDONED, null);
    }

    private static final Logger log = LoggerFactory.getLogger(DurableSend.class);
    // 100 ms doubling to 10 s, ±20 %: a broker restart is ridden out without hammering it, and workers that failed
    // together do not retry together.
    private static final IntervalFunction BACKOFF =
            IntervalFunction.ofExponentialRandomBackoff(Duration.ofMillis(100), 2.0, 0.2, Duration.ofSeconds(10));

    private final Producer<byte[], byte[]> producer;
    private final Duration ackTimeout;

    public DurableSend(Producer<byte[], byte[]> producer, Duration ackTimeout) {
        this.producer = producer;
        // The producer gives up at its delivery.timeout.ms (the enqueue timeout); the margin only guards a stuck
        // client.
        this.ackTimeout = ackTimeout.plusSeconds(5);
    }

    /**
     * Sends {@code record} until acknowledged or refused for good; between tries, gives up when {@code gone} says
     * the work was taken away, or when the thread is interrupted.
     */
    public Result send(ProducerRecord<byte[], byte[]> record, BooleanSupplier gone, String what) {
        for (int attempt = 1; ; attempt++) {
            Throwable failure;
            try {
                producer.send(record).get(ackTimeout.toMillis(), TimeUnit.MILLISECONDS);
                return Result.ACKED;
            } catch (ExecutionException e) {
                failure = e.getCause();
            } catch (TimeoutException e) {
                failure = e;
            } catch (InterruptedException | InterruptException e) {
                Thread.currentThread().interrupt();
                return Result.ABANDONED;
            } catch (IllegalStateException e) {
                // The producer is closed: the backend is closing under running workers. Nothing will be written.
                log.warn("{} not sent: {}", what, e.toString());
                return Result.ABANDONED;
            } catch (RuntimeException e) {
                // send() itself failed: a metadata or buffer timeout, or a record it refuses outright.
                failure = e;
            }
            if (isFinal(failure)) {
                log.warn("{} refused: {}", what, failure.toString());
                return new Result(Status.REFUSED, failure);
            }
            long wait = BACKOFF.apply(attempt);
            log.warn(
                    "{} not acknowledged (attempt {}): {}; retrying in {} ms", what, attempt, failure.toString(), wait);
            if (gone.getAsBoolean() || !sleep(wait) || gone.getAsBoolean()) {
                return Result.ABANDONED;
            }
        }
    }

    /**
     * Whether the same record would fail the same way on every try. Anything not known to be final is retried: the
     * producer has already retried what Kafka calls retriable up to its delivery timeout, so what reaches us is a
     * timeout (may pass) or a non-retriable error, of which only these are about the record or its permissions.
     */
    public static boolean isFinal(Throwable t) {
        return t instanceof RecordTooLargeException
                || t instanceof RecordBatchTooLargeException
                || t instanceof InvalidRecordException
                || t instanceof InvalidTimestampException
                || t instanceof InvalidTopicException
                || t instanceof SerializationException
                || t instanceof AuthorizationException
                || t instanceof AuthenticationException
                || t instanceof UnsupportedVersionException
                || t instanceof InvalidRequiredAcksException
                || t instanceof InvalidPayloadException;
    }

    /** A short reason for a refusal, for the dead letter's error message. */
    public static String describe(Throwable t) {
        String what;
        if (t instanceof RecordTooLargeException
                || t instanceof RecordBatchTooLargeException
                || t instanceof dev.crossfade.api.codec.PayloadTooLargeException) {
            what = "record too large";
        } else if (t instanceof AuthorizationException) {
            what = "not authorized";
        } else if (t instanceof AuthenticationException) {
            what = "authentication failed";
        } else if (t instanceof SerializationException) {
            what = "cannot serialize";
        } else if (t instanceof InvalidRecordException || t instanceof InvalidTimestampException) {
            what = "invalid record";
        } else {
            what = t.getClass().getSimpleName();
        }
        String m = t.getMessage();
        return m == null || m.isBlank() ? what : what + " (" + (m.length() > 300 ? m.substring(0, 300) + "…" : m) + ")";
    }

    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
