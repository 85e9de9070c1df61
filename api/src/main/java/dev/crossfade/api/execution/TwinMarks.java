package dev.crossfade.api.execution;

import java.util.Collection;

/**
 * Where a producer records jobs that may now exist on both backends: the router marks a job before it falls back to
 * Redis after a Kafka write whose fate is unknown (it timed out, but may have landed). Run-once guards claim only
 * marked jobs, so every other job runs without a guard round trip.
 *
 * <p>{@link #mark} must be durable before the second copy is written, and must not throw for a transient failure it
 * can absorb; when it does throw, the caller still writes the second copy (the job must not be lost) and logs that it
 * may run twice. {@link Unconfirmed} is the one failure after which the marks do exist: the caller treats the jobs as
 * marked (and fences their second copy), and logs that a failover of the store may still lose the marks.
 */
@FunctionalInterface
public interface TwinMarks {
    /** Marks nothing: for setups where a job never has a second copy. */
    TwinMarks NONE = jids -> {};

    /** Records that these jids may have a copy on each backend. */
    void mark(Collection<String> jids);

    /**
     * The marks were stored, but the store could not confirm them as durable in time (Redis: fewer replicas than
     * {@code waitReplicas} acknowledged them), so a failover right now could lose them.
     */
    class Unconfirmed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public Unconfirmed(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
