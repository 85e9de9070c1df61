package dev.crossfade.api.codec;

/**
 * A payload that cannot be a job: not JSON, not an object, missing {@code class} or {@code args}, {@code args} not an
 * array, a field of the wrong type, or over the size limit. The message names the fault so an operator reading a dead
 * set or a DLQ header knows what to fix; the worker process keeps running.
 */
public class InvalidPayloadException extends IllegalArgumentException {
    public InvalidPayloadException(String message) {
        super(message);
    }

    public InvalidPayloadException(String message, Throwable cause) {
        super(message, cause);
    }
}
