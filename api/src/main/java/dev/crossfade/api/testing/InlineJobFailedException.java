package dev.crossfade.api.testing;

import dev.crossfade.api.Job;

/** In inline mode, a job whose worker failed: the failure reaches the test that enqueued it, as in Sidekiq's inline mode. */
public class InlineJobFailedException extends RuntimeException {
    private final Job job;

    public InlineJobFailedException(Job job, Throwable cause) {
        super("job " + job.jid() + " (" + job.className() + ") failed inline: " + cause, cause);
        this.job = job;
    }

    public Job job() {
        return job;
    }
}
