package dev.crossfade.api.worker;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;

/**
 * What a worker may know about the job it runs, beyond its args. Lets a worker behave correctly under shadow mode (do
 * a dry run when {@link #shadow()} is true) and report results for comparison, without knowing which backend it is
 * on.
 */
public interface JobContext {
    /** The job id, stable across retries and across backends. */
    String jid();

    String queue();

    /** 1 for the first run, 2 for the first retry, and so on. */
    int attempt();

    /** Which backend delivered this copy. */
    Backend backend();

    /**
     * Whether this is a shadow copy enqueued only for comparison. Workers registered as shadow-safe run for shadow
     * copies too and must not cause real side effects when this is true.
     */
    boolean shadow();

    /** The full envelope, for workers that need Sidekiq's extra keys. */
    Job job();

    /**
     * Records this run's result. Shadow-mode comparisons digest it and compare the authoritative and shadow runs.
     * Calling it is optional; the last call wins.
     */
    void result(Object result);
}
