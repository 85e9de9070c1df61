package dev.crossfade.cli.ramp;

import java.util.List;

/**
 * Wald's sequential probability ratio test of Kafka's failure rate against Redis's, stratified by queue and class: in
 * each stratum, H0 says a Kafka job fails as often as a Redis job of the same queue and class ({@code p0}), H1 that it
 * fails {@code margin} more often ({@code p0 + margin}). The log-likelihood ratio of the Kafka outcomes seen so far is
 * summed over strata and compared with Wald's bounds, so a step with few jobs decides as soon as the evidence allows
 * (about {@code ln(1/beta)/margin} clean Kafka jobs to pass) instead of after a fixed sample. Pure: no clock, no I/O.
 */
public final class FailureSprt {
    /** The smallest baseline rate: a Redis side with no failures would otherwise make one Kafka failure infinite. */
    static final double FLOOR = 0.001;

    private final double margin;
    private final double upper;
    private final double lower;

    /**
     * @param margin how much higher Kafka's failure rate may be before it counts as worse (0..1, e.g. 0.02)
     * @param alpha  chance of rolling back a healthy Kafka (false alarm)
     * @param beta   chance of passing a Kafka that fails {@code margin} more often
     */
    public FailureSprt(double margin, double alpha, double beta) {
        if (!(margin > 0 && margin < 1)) {
            throw new IllegalArgumentException("margin must be between 0 and 1, got " + margin);
        }
        if (!(alpha > 0 && alpha < 0.5) || !(beta > 0 && beta < 0.5)) {
            throw new IllegalArgumentException("alpha and beta must be between 0 and 0.5");
        }
        this.margin = margin;
        this.upper = Math.log((1 - beta) / alpha);
        this.lower = Math.log(beta / (1 - alpha));
    }

    /** Runs on one queue and class during the step: jobs finished and failed on each backend. */
    public record Stratum(long kafkaJobs, long kafkaFailed, long redisJobs, long redisFailed) {}

    /** What the evidence says. */
    public enum Verdict {
        /** Kafka fails more often than Redis by the margin: roll back. */
        WORSE,
        /** Kafka fails no more often than Redis plus the margin. */
        NOT_WORSE,
        /** Not enough evidence either way yet. */
        UNDECIDED
    }

    /** The verdict and its figures, for the decision log. */
    public record Result(
            Verdict verdict,
            double llr,
            double lower,
            double upper,
            long kafkaJobs,
            long kafkaFailed,
            double kafkaRate,
            double redisRate) {}

    /** Tests the strata; a stratum without Redis runs is compared with Redis's rate over all strata. */
    public Result test(List<Stratum> strata) {
        long rn = 0;
        long rf = 0;
        long kn = 0;
        long kf = 0;
        for (Stratum s : strata) {
            rn += s.redisJobs();
            rf += s.redisFailed();
            kn += s.kafkaJobs();
            kf += s.kafkaFailed();
        }
        double pooled = rn == 0 ? 0 : (double) rf / rn;
        double llr = 0;
        for (Stratum s : strata) {
            if (s.kafkaJobs() == 0) {
                continue;
            }
            double p0 = Math.max(FLOOR, s.redisJobs() == 0 ? pooled : (double) s.redisFailed() / s.redisJobs());
            p0 = Math.min(p0, 1 - margin - FLOOR);
            double p1 = p0 + margin;
            long ok = s.kafkaJobs() - s.kafkaFailed();
            llr += s.kafkaFailed() * Math.log(p1 / p0) + ok * Math.log((1 - p1) / (1 - p0));
        }
        Verdict v = llr >= upper ? Verdict.WORSE : llr <= lower ? Verdict.NOT_WORSE : Verdict.UNDECIDED;
        return new Result(v, llr, lower, upper, kn, kf, kn == 0 ? 0 : (double) kf / kn, pooled);
    }
}
