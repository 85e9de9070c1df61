package dev.crossfade.api;

/**
 * An enqueue that the backend did not durably accept. The message names the backend and the cause, so a caller (or the
 * router, which falls back on it) never has to guess whether a job was stored.
 */
public class EnqueueException extends RuntimeException {
    private final Backend backend;

    public EnqueueException(Backend backend, String message, Throwable cause) {
        super(backend.id() + ": " + message, cause);
        this.backend = backend;
    }

    public EnqueueException(Backend backend, String message) {
        this(backend, message, null);
    }

    /** The backend that refused or failed the enqueue. */
    public Backend backend() {
        return backend;
    }
}
