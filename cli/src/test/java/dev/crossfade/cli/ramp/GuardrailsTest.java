package dev.crossfade.cli.ramp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.redis.OutcomeFormat;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GuardrailsTest {
    private final Guardrails g = new Guardrails(2, Duration.ofSeconds(1), Duration.ofSeconds(30), 1, 0.1, 20);
    private static final Guardrails.Live CALM = new Guardrails.Live(Duration.ZERO, 0, 0);

    private static long[] hist(int bucket, long n) {
        long[] h = new long[OutcomeFormat.buckets()];
        h[bucket] = n;
        return h;
    }

    private static OutcomeWindows.Figures figures(
            long kn, long kf, long rn, long rf, long[] kLat, long[] rLat, long chosen, long fell) {
        return new OutcomeWindows.Figures(Map.of("q|C", new long[] {kn, kf, rn, rf}), kLat, rLat, chosen, fell);
    }

    @Test
    void cleanFiguresAreHealthy() {
        Guardrails.Judgement j = g.judge(figures(500, 0, 5000, 5, hist(2, 500), hist(2, 5000), 500, 0), CALM);
        assertNull(j.breach());
        assertTrue(j.healthy(), j.figures());
    }

    @Test
    void tooFewKafkaJobsAreNotYetHealthy() {
        assertFalse(g.judge(figures(10, 0, 5000, 5, hist(2, 10), hist(2, 5000), 10, 0), CALM)
                .healthy());
    }

    @Test
    void eachGuardrailBreaksOnItsOwnFigure() {
        assertEquals(
                "failure-rate",
                g.judge(figures(20, 10, 5000, 5, hist(2, 20), hist(2, 5000), 20, 0), CALM)
                        .breach());
        assertEquals(
                "kafka-lag",
                g.judge(
                                figures(500, 0, 5000, 5, hist(2, 500), hist(2, 5000), 500, 0),
                                new Guardrails.Live(Duration.ofSeconds(31), 0, 0))
                        .breach());
        // p99 of Kafka in the 2.5 s bucket against Redis's 25 ms, margin 1 s.
        assertEquals(
                "latency-p99",
                g.judge(figures(500, 0, 5000, 5, hist(8, 500), hist(2, 5000), 500, 0), CALM)
                        .breach());
        assertEquals(
                "fallback-rate",
                g.judge(figures(500, 0, 5000, 5, hist(2, 500), hist(2, 5000), 500, 50), CALM)
                        .breach());
        assertEquals(
                "shadow-mismatch",
                g.judge(
                                figures(500, 0, 5000, 5, hist(2, 500), hist(2, 5000), 500, 0),
                                new Guardrails.Live(Duration.ZERO, 1000, 5))
                        .breach());
    }

    @Test
    void quantilesAreTheUpperBoundOfTheirBucket() {
        long[] h = new long[OutcomeFormat.buckets()];
        h[0] = 98;
        h[5] = 2;
        assertEquals(OutcomeFormat.boundMs(5), OutcomeWindows.quantileMs(h, 0.99));
        assertEquals(OutcomeFormat.boundMs(0), OutcomeWindows.quantileMs(h, 0.5));
        assertEquals(-1, OutcomeWindows.quantileMs(new long[3], 0.99));
        assertEquals(3, OutcomeFormat.bucketOf(50));
        assertEquals(OutcomeFormat.buckets() - 1, OutcomeFormat.bucketOf(1_000_000));
    }
}
