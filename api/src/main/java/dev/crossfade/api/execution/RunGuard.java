package dev.crossfade.api.execution;

import dev.crossfade.api.Job;

import java.time.Duration;

/**
 * Keeps a job from running twice when it may have reached two backends (a Kafka enqueue that timed out but landed,
 * then the router's fallback to Redis). The execution core asks before each real (non-shadow) run.
 *
 * <p>A guard must never lose a job: a copy is skipped only when another copy of the same attempt has
 * <em>finished</em>; while another copy is merely running, this one is deferred and checked again later, so a runner
 * that died mid-job does not take the job with it.
 */
public interface RunGuard {
    /** A guard that lets everything run. */
    RunGuard NONE = new RunGuard() {
        @Override
        public Claim claim(Job job) {
            return Claim.RUN;
        }

        @Override
        public void finished(Job job, boolean succeeded) {
        }
    };

    /** The answer to a claim. */
    enum Claim {
        /** Run it: this copy holds the claim. */
        RUN,
        /** Another copy of this attempt already finished: acknowledge this one without running it. */
        ALREADY_DONE,
        /** Another copy of this attempt is running now: try again after {@link #deferFor()}. */
        IN_PROGRESS
    }

    /** Claims the job's current attempt. */
    Claim claim(Job job);

    /** Releases a claim: success marks the attempt done; failure frees it for the retry. */
    void finished(Job job, boolean succeeded);

    /** How long an {@link Claim#IN_PROGRESS} copy waits before it is tried again. */
    default Duration deferFor() {
        return Duration.ofSeconds(30);
    }
}
