package dev.crossfade.cli.http;

import java.util.Map;

/**
 * What the dashboard and {@code /health} show, gathered by the running process: the split and flag source, counts
 * per backend, lag per partition, shadow results. Kept as plain maps so the JSON shape is visible in one place
 * ({@link dev.crossfade.cli.runtime.NodeStatus}).
 */
public interface StatusSource {
    /** A snapshot for {@code /api/status}; must be cheap (called every second per open dashboard). */
    Map<String, Object> snapshot();

    /**
     * Health for {@code /health}, from memory (never waits for a server): {@code status} UP or DOWN (every backend
     * ready or not), {@code live} (the process's own checks keep running), {@code ready}, one entry per backend, and
     * the per-backend detail under {@code backends} (each with {@code status}, {@code live} and {@code ready}).
     */
    Map<String, Object> health();

    /** The shadow comparison report as JSON, for {@code /api/shadow-report} and {@code crossfade shadow-report}. */
    String shadowReportJson();

    /** Applies a flag change from the dashboard (already authorised). */
    void changeFlags(Double kafkaPercent, Boolean killSwitch, Double shadowPercent);

    /**
     * Starts (or resumes) driving the guarded rollout in this process ({@code start}), stops driving it here
     * ({@code stop}), or clears a rollback ({@code clear}); already authorised.
     */
    void ramp(String action);
}
