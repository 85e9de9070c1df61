package dev.crossfade.api.execution;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Shared storage for the shadow comparison, so the two copies of a job are paired whichever worker processes ran
 * them. Sides are opaque strings (the comparator's JSON); every method is atomic across processes.
 */
public interface ShadowStore {
    /** What {@link #pair} found. */
    record Paired(Kind kind, String other) {
        /** The outcome of offering one side. */
        public enum Kind {
            /** The other side was waiting: both are removed, and {@link #other()} is its JSON. */
            PAIRED,
            /** Stored; the other side has not arrived yet. */
            WAITING,
            /** This side of this jid was offered before: a second run of the same copy. */
            DUPLICATE
        }
    }

    /**
     * Offers one side of a job.
     *
     * @param role  this side's role ({@code primary} or {@code shadow}); {@code other} names the other one
     * @param since when this side was observed, for {@link #takeOverdue}
     */
    Paired pair(String jid, String role, String other, String json, Instant since);

    /** Removes and returns, by jid, the role of each side still waiting that was stored before {@code cutoff}. */
    Map<String, String> takeOverdue(Instant cutoff);

    /** Adds to a shared counter. */
    void count(String counter, long delta);

    /** Every shared counter. */
    Map<String, Long> counters();

    /** Sides still waiting for their other side. */
    long pending();

    /** Keeps an example (newest last), at most {@code max}. */
    void example(String json, int max);

    /** The examples kept, oldest first. */
    List<String> examples();
}
