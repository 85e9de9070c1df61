package dev.crossfade.api.codec;

/**
 * A job whose encoded payload exceeds {@link JobCodec.Builder#maxPayloadBytes(int)}. Thrown at enqueue, before anything
 * reaches a backend, because Redis and Kafka would otherwise each fail it differently (or, on Kafka, only at the
 * broker).
 */
public class PayloadTooLargeException extends InvalidPayloadException {
    private final int size;
    private final int limit;

    public PayloadTooLargeException(String what, int size, int limit) {
        super(what + " is " + size + " bytes, over the " + limit + "-byte payload limit"
                + " (raise it with maxPayloadBytes, or pass a reference to the data instead of the data)");
        this.size = size;
        this.limit = limit;
    }

    public int size() {
        return size;
    }

    public int limit() {
        return limit;
    }
}
