package dev.crossfade.api.execution;

import java.util.Collection;

/**
 * Where a producer records jobs that may now exist on both backends: the router marks a job before it falls back to
 * Redis after a Kafka write whose fate is unknown (it timed out, but may have landed). Run-once guards claim only
 * marked jobs, so every other job runs without a guard round trip.
 *
 * <p>{@link #mark} must be durable before the second copy is written, and must not throw for a transient failure it
 * can absorb; when it does throw, the caller still writes the second copy (the job must not be lost) and logs that it
 * may run twice.
 */
@FunctionalInterface
public interface TwinMarks {
    /** Marks nothing: for setups where a job never has a second copy. */
    TwinMarks NONE = jids -> {};

    /** Records that these jids may have a copy on each backend. */
    void mark(Collection<String> jids);
}
