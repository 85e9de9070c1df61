package dev.crossfade.devservices;

/**
 * Thrown when a development server cannot be started, stopped or controlled. Its message is written for the person
 * reading a failed build: it says what was tried and, where there is one, ends with the tail of the server's log, because
 * a bare "timed out" is useless on CI.
 */
public class DevServiceException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * @param message what failed and how to fix it
     */
    public DevServiceException(String message) {
        super(message);
    }

    /**
     * @param message what failed and how to fix it
     * @param cause the underlying failure
     */
    public DevServiceException(String message, Throwable cause) {
        super(message, cause);
    }
}
