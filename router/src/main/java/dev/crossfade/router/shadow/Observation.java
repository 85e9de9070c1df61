package dev.crossfade.router.shadow;

import dev.crossfade.api.Backend;
import java.time.Duration;
import java.time.Instant;

/**
 * One side of a shadow comparison: what happened when one copy of a job was delivered.
 *
 * @param jid       the job id, shared by both copies
 * @param className the worker class
 * @param backend   which backend delivered this copy
 * @param role      authoritative or shadow
 * @param attempt   1 for the first run
 * @param latency   enqueue-to-start time (null when the job carried no enqueue time)
 * @param duration  how long the worker ran
 * @param outcome   what the execution core decided
 * @param ran       whether the worker ran (a shadow copy of a worker that is not shadow-safe only records delivery)
 * @param digest    a digest of the recorded result (null when nothing ran), compared between the two sides
 * @param at        when it started
 */
public record Observation(
        String jid,
        String className,
        Backend backend,
        Role role,
        int attempt,
        Duration latency,
        Duration duration,
        OutcomeKind outcome,
        boolean ran,
        String digest,
        Instant at) {

    /** Which copy an observation is of. */
    public enum Role {
        PRIMARY,
        SHADOW
    }

    /** The execution outcome, reduced to what comparisons need. */
    public enum OutcomeKind {
        SUCCEEDED,
        FAILED
    }
}
