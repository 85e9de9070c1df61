package dev.crossfade.cli.ramp;

import dev.crossfade.config.CrossfadeConfig;
import java.time.Duration;
import java.util.Locale;

/**
 * The guardrails of a guarded rollout and their thresholds ({@code ramp.*} settings), judged over one step's figures:
 * Kafka's failure rate against Redis's for the same queues and classes ({@link FailureSprt}), enqueue-to-start p99
 * against Redis's, Kafka's time lag, the fallback rate and the shadow mismatch rate. Pure: the figures come in.
 */
public final class Guardrails {
    /** False alarms of the failure test: a healthy step is rolled back this rarely. */
    static final double ALPHA = 0.01;
    /** Misses of the failure test: a Kafka failing by the margin passes this rarely. */
    static final double BETA = 0.05;

    private final FailureSprt sprt;
    private final double failureMargin;
    private final Duration latencyMargin;
    private final Duration maxLag;
    private final double maxFallbackRate;
    private final double maxMismatchRate;
    private final long minJobs;

    public Guardrails(
            double failureMarginPct,
            Duration latencyMargin,
            Duration maxLag,
            double maxFallbackPct,
            double maxMismatchPct,
            long minJobs) {
        this.failureMargin = failureMarginPct / 100;
        this.sprt = new FailureSprt(failureMargin, ALPHA, BETA);
        this.latencyMargin = latencyMargin;
        this.maxLag = maxLag;
        this.maxFallbackRate = maxFallbackPct / 100;
        this.maxMismatchRate = maxMismatchPct / 100;
        this.minJobs = minJobs;
    }

    public static Guardrails from(CrossfadeConfig c) {
        return new Guardrails(
                c.percent("ramp.failure-margin"),
                c.duration("ramp.latency-margin"),
                c.duration("ramp.max-kafka-lag"),
                c.percent("ramp.max-fallback-rate"),
                c.percent("ramp.max-shadow-mismatch-rate"),
                c.integer("ramp.min-jobs"));
    }

    /** A step's figures besides the per-second counts: lag now, and the shadow pairs compared during the step. */
    public record Live(Duration kafkaLag, long shadowCompared, long shadowMismatched) {}

    /**
     * What the step's figures say.
     *
     * @param breach    the guardrail that failed ({@code failure-rate}, {@code latency-p99}, {@code kafka-lag},
     *                  {@code fallback-rate}, {@code shadow-mismatch}), or null
     * @param healthy   no breach and the failure test decided Kafka is not worse: the step may advance once held
     * @param figures   every guardrail's figures, one line, for the decision log
     */
    public record Judgement(String breach, boolean healthy, String figures) {}

    public Judgement judge(OutcomeWindows.Figures f, Live live) {
        FailureSprt.Result r = sprt.test(f.sprtStrata());
        long kp99 = OutcomeWindows.quantileMs(f.kafkaLatency(), 0.99);
        long rp99 = OutcomeWindows.quantileMs(f.redisLatency(), 0.99);
        long kafkaStarts = sum(f.kafkaLatency());
        double fallbackRate = f.chosenKafka() == 0 ? 0 : (double) f.fellBack() / f.chosenKafka();
        double mismatchRate = live.shadowCompared() == 0 ? 0 : (double) live.shadowMismatched() / live.shadowCompared();
        String figures = String.format(
                Locale.ROOT,
                "failures kafka %d/%d (%.2f%%) vs redis %.2f%% (SPRT llr %.2f, bounds %.2f..%.2f, margin %.2f points);"
                        + " p99 kafka %s vs redis %s (margin %d ms); kafka lag %s (max %d ms); fallbacks %d/%d "
                        + "(%.2f%%); shadow mismatches %d/%d (%.2f%%)",
                r.kafkaFailed(),
                r.kafkaJobs(),
                100 * r.kafkaRate(),
                100 * r.redisRate(),
                r.llr(),
                r.lower(),
                r.upper(),
                100 * failureMargin,
                ms(kp99),
                ms(rp99),
                latencyMargin.toMillis(),
                live.kafkaLag() == null ? "unknown" : live.kafkaLag().toMillis() + " ms",
                maxLag.toMillis(),
                f.fellBack(),
                f.chosenKafka(),
                100 * fallbackRate,
                live.shadowMismatched(),
                live.shadowCompared(),
                100 * mismatchRate);
        String breach = null;
        if (r.verdict() == FailureSprt.Verdict.WORSE) {
            breach = "failure-rate";
        } else if (live.kafkaLag() != null && live.kafkaLag().compareTo(maxLag) > 0) {
            breach = "kafka-lag";
        } else if (kafkaStarts >= minJobs && rp99 >= 0 && kp99 > rp99 + latencyMargin.toMillis()) {
            breach = "latency-p99";
        } else if (f.chosenKafka() >= minJobs && fallbackRate > maxFallbackRate) {
            breach = "fallback-rate";
        } else if (live.shadowCompared() >= minJobs && mismatchRate > maxMismatchRate) {
            breach = "shadow-mismatch";
        }
        boolean healthy = breach == null && r.verdict() == FailureSprt.Verdict.NOT_WORSE;
        return new Judgement(breach, healthy, figures);
    }

    private static String ms(long v) {
        return v < 0 ? "n/a" : v == Long.MAX_VALUE ? ">300000 ms" : "<=" + v + " ms";
    }

    private static long sum(long[] h) {
        long n = 0;
        for (long v : h) {
            n += v;
        }
        return n;
    }
}
