package dev.crossfade.kafka.internal;

/**
 * What became of a fetched record once its outcome was written: what a consumer group commits past and a share group
 * acknowledges.
 */
public enum Verdict {
    /**
     * Not finished: its chunk was closed (the partition taken away, the runtime stopping) or the thread interrupted
     * while a write was pending. The record stays uncommitted, or is released, and runs again.
     */
    UNFINISHED,
    /** The job succeeded, was discarded (a shadow copy), or its retry was durably scheduled. */
    ACCEPT,
    /** The job was durably dead-lettered (or, as a last resort, logged and counted as dead). */
    REJECT;

    public boolean finished() {
        return this != UNFINISHED;
    }
}
