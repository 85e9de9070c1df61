package dev.crossfade.tools.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How the drill names the cause of a duplicate run, from the run log alone (no servers). */
class AccountingTest {
    private final Drill drill =
            new Drill(DrillSettings.custom().jobs(1).faults(0).build(), new PrintWriter(new StringWriter()));
    private final long t = drill.wallT0 + 60_000;

    @Test
    void aRedisRerunByAPeerWhileTheFirstProcessLivedIsALiveRerun() {
        List<Accounting.Run> runs = List.of(
                new Accounting.Run("j", "redis", 101, 0, t), new Accounting.Run("j", "redis", 202, 0, t + 20_000));
        assertTrue(
                Accounting.cause(drill, runs, 2).startsWith(Accounting.LIVE_RERUN), Accounting.cause(drill, runs, 2));
    }

    @Test
    void aRerunAfterTheFirstProcessWasKilledIsARedelivery() {
        drill.killedPids.put(101L, drill.t0 + 61_000_000_000L);
        List<Accounting.Run> runs = List.of(
                new Accounting.Run("j", "redis", 101, 0, t), new Accounting.Run("j", "redis", 202, 0, t + 20_000));
        assertEquals(
                "redelivery on redis after its worker was killed before acknowledging",
                Accounting.cause(drill, runs, 2));
    }

    @Test
    void aRetryOrAKafkaRedeliveryIsNotALiveRerun() {
        List<Accounting.Run> retried = List.of(
                new Accounting.Run("j", "redis", 101, 0, t), new Accounting.Run("j", "redis", 202, 1, t + 20_000));
        List<Accounting.Run> rebalanced = List.of(
                new Accounting.Run("j", "kafka", 101, 0, t), new Accounting.Run("j", "kafka", 202, 0, t + 20_000));
        assertTrue(Accounting.cause(drill, retried, 2).startsWith("retried on redis"));
        assertTrue(Accounting.cause(drill, rebalanced, 2).startsWith("redelivery on kafka"));
    }

    @Test
    void theGuardsSkipLineIsRecognisedWithItsBackend() {
        // The line ExecutionCore logs when the run-once guard skips a copy; the thread names the backend.
        String line = "07:01:02.345 [crossfade-kafka-default-3] INFO dev.crossfade.api.execution.ExecutionCore - job "
                + "0a1b2c3d4e5f (drill.Ledger) attempt 0 already ran as another copy; acknowledging this one";
        java.util.regex.Matcher m = Accounting.SKIP.matcher(line);
        assertTrue(m.find(), line);
        assertEquals("crossfade-kafka-default-3", m.group(1));
        assertEquals("0a1b2c3d4e5f", m.group(2));
    }
}
