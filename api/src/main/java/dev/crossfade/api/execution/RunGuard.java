package dev.crossfade.api.execution;

import dev.crossfade.api.Job;
import java.time.Duration;

/**
 * Keeps a job from running twice when it may have reached two backends (a Kafka enqueue that timed out but landed,
 * then the router's fallback to Redis). The execution core asks before each real (non-shadow) run.
 *
 * <p>A guard must never lose a job: a copy is skipped only when another copy has <em>finished</em> (succeeded, or
 * failed and been handed to its retry policy); while another copy is merely running, this one is deferred and checked
 * again later, so a runner that died mid-job does not take the job with it.
 */
public interface RunGuard {
    /** A guard that lets everything run. */
    RunGuard NONE = new RunGuard() {
        @Override
        public Claim claim(Job job) {
            return Claim.RUN;
        }

        @Override
        public void finished(Job job, boolean succeeded) {}
    };

    /** The answer to a claim. */
    enum Claim {
        /** Run it: this copy holds the claim. */
        RUN,
        /**
         * Another copy already ran: it succeeded, or it failed and its retry policy now owns the job. Acknowledge this
         * copy without running it.
         */
        ALREADY_DONE,
        /** Another copy is running now: try again after {@link #deferFor()}. */
        IN_PROGRESS
    }

    /** Claims the job for this run; called on the thread that then runs it and calls {@link #finished}. */
    Claim claim(Job job);

    /** Releases a claim: success marks the job done; failure hands it to the retry of the copy that failed. */
    void finished(Job job, boolean succeeded);

    /** How long an {@link Claim#IN_PROGRESS} copy waits before it is tried again. */
    default Duration deferFor() {
        return Duration.ofSeconds(30);
    }
}
