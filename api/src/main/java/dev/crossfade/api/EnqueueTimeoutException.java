package dev.crossfade.api;

/**
 * An enqueue that was not acknowledged within its time limit. The jobs were not durably accepted as far as the caller
 * can tell, but some may still arrive: a job sent again elsewhere can then exist twice, which the run-once guard of the
 * worker runtime absorbs.
 */
public class EnqueueTimeoutException extends EnqueueException {

    public EnqueueTimeoutException(Backend backend, String message, Throwable cause) {
        super(backend, message, cause);
    }
}
