package dev.crossfade.api;

/**
 * An enqueue that the backend did not durably accept. The message names the backend and the cause, so a caller (or the
 * router, which falls back on it) never has to guess whether a job was stored.
 */
public class EnqueueException extends RuntimeException {
    private final Backend backend;
    private final boolean stored;

    public EnqueueException(Backend backend, String message, Throwable cause) {
        this(backend, message, cause, false);
    }

    /**
     * @param stored the backend did take the jobs but could not confirm them as durable (Redis wrote them on its
     *     master, but fewer replicas than asked acknowledged them): they may yet run from there
     */
    public EnqueueException(Backend backend, String message, Throwable cause, boolean stored) {
        super(backend.id() + ": " + message, cause);
        this.backend = backend;
        this.stored = stored;
    }

    public EnqueueException(Backend backend, String message) {
        this(backend, message, null);
    }

    /** The backend that refused or failed the enqueue. */
    public Backend backend() {
        return backend;
    }

    /**
     * Whether the backend did take the jobs without confirming them durable, so a copy may run from there: a caller
     * that writes them elsewhere too must expect two copies (the router marks them for the run-once guard).
     */
    public boolean stored() {
        return stored;
    }
}
