package dev.crossfade.router.shadow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.List;
import java.util.Map;

/**
 * The result of shadow-mode comparisons so far.
 *
 * @param matched        pairs whose outcome and result digest agree
 * @param mismatched     pairs that disagree
 * @param deliveredOnly  pairs whose shadow copy was delivered but not run (worker not shadow-safe)
 * @param missingShadow  authoritative copies whose shadow did not arrive within the grace period
 * @param missingPrimary shadow copies whose authoritative copy did not run within the grace period
 * @param duplicates     copies observed more than once for the same role, or after their pair was settled
 * @param pending        pairs still waiting for their other side
 * @param mismatchExamples up to 20 mismatches, newest last
 * @param backends       per backend and role: count, error rate, latency and duration percentiles (ms)
 */
public record ShadowReport(
        long matched,
        long mismatched,
        long deliveredOnly,
        long missingShadow,
        long missingPrimary,
        long duplicates,
        long pending,
        List<Mismatch> mismatchExamples,
        Map<String, BackendStats> backends) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** One disagreement between the two copies of a job. */
    public record Mismatch(
            String jid,
            String className,
            String primaryBackend,
            String primaryOutcome,
            String primaryDigest,
            String shadowBackend,
            String shadowOutcome,
            String shadowDigest) {}

    /** Figures for one backend and role. */
    public record BackendStats(
            long count,
            double errorRate,
            double latencyP50Ms,
            double latencyP99Ms,
            double durationP50Ms,
            double durationP99Ms) {}

    /** The report as JSON, for {@code crossfade shadow-report} and the dashboard. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write shadow report", e);
        }
    }
}
