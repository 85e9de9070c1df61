package dev.crossfade.cli.ramp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.cli.ramp.FailureSprt.Stratum;
import dev.crossfade.cli.ramp.FailureSprt.Verdict;
import java.util.List;
import org.junit.jupiter.api.Test;

class FailureSprtTest {
    private final FailureSprt sprt = new FailureSprt(0.02, 0.01, 0.05);

    @Test
    void noKafkaJobsDecidesNothing() {
        assertEquals(
                Verdict.UNDECIDED,
                sprt.test(List.of(new Stratum(0, 0, 1000, 10))).verdict());
        assertEquals(Verdict.UNDECIDED, sprt.test(List.of()).verdict());
    }

    @Test
    void aFewCleanKafkaJobsAreNotEnoughButAFewHundredAre() {
        assertEquals(
                Verdict.UNDECIDED,
                sprt.test(List.of(new Stratum(20, 0, 1000, 0))).verdict());
        // ln(0.05/0.99) / ln(0.979/0.999) is about 147 clean jobs at a 0.1% floor and a 2-point margin.
        assertEquals(
                Verdict.UNDECIDED,
                sprt.test(List.of(new Stratum(140, 0, 1000, 0))).verdict());
        assertEquals(
                Verdict.NOT_WORSE,
                sprt.test(List.of(new Stratum(160, 0, 1000, 0))).verdict());
    }

    @Test
    void kafkaFailingFarMoreOftenIsWorseAfterAHandfulOfJobs() {
        FailureSprt.Result r = sprt.test(List.of(new Stratum(10, 5, 1000, 10)));
        assertEquals(Verdict.WORSE, r.verdict());
        assertTrue(r.llr() >= r.upper());
        assertEquals(0.5, r.kafkaRate(), 1e-9);
        assertEquals(0.01, r.redisRate(), 1e-9);
    }

    @Test
    void failuresAsCommonAsOnRedisAreNotWorse() {
        // Kafka fails 5% of the time, as Redis does for the same class: not worse, given enough jobs.
        assertEquals(
                Verdict.NOT_WORSE,
                sprt.test(List.of(new Stratum(2000, 100, 2000, 100))).verdict());
    }

    @Test
    void eachClassIsComparedWithItsOwnRedisRate() {
        // Kafka runs only the flaky class, which fails as often on Redis: pooled rates would call Kafka worse.
        List<Stratum> strata = List.of(new Stratum(0, 0, 10_000, 0), new Stratum(10_000, 3000, 10_000, 3000));
        assertEquals(Verdict.NOT_WORSE, sprt.test(strata).verdict());
        // The same failures in the clean class are worse.
        List<Stratum> bad = List.of(new Stratum(1000, 300, 10_000, 0), new Stratum(0, 0, 1000, 300));
        assertEquals(Verdict.WORSE, sprt.test(bad).verdict());
    }

    @Test
    void aClassWithoutRedisRunsUsesThePooledRedisRate() {
        List<Stratum> strata = List.of(new Stratum(0, 0, 1000, 200), new Stratum(5000, 1000, 0, 0));
        assertEquals(Verdict.NOT_WORSE, sprt.test(strata).verdict());
    }

    @Test
    void rejectsNonsenseParameters() {
        assertThrows(IllegalArgumentException.class, () -> new FailureSprt(0, 0.01, 0.05));
        assertThrows(IllegalArgumentException.class, () -> new FailureSprt(0.02, 0, 0.05));
        assertThrows(IllegalArgumentException.class, () -> new FailureSprt(0.02, 0.01, 0.7));
    }
}
