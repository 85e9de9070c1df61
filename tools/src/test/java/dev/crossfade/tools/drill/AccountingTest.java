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
    void aDuplicateInTwoFaultsWindowsIsPutOnTheLaterFault() {
        // The last cluster drill's faults 1 and 2: a leader kill of 15.4 s, then a Redis failover 16.5 s after it.
        FaultEvent kill = new FaultEvent(FaultKind.LEADER_KILL, drill.t0 + 58_800_000_000L, 0, false);
        kill.endNanos = drill.t0 + 74_200_000_000L;
        FaultEvent failover = new FaultEvent(FaultKind.REDIS_FAILOVER, drill.t0 + 75_300_000_000L, 0, false);
        failover.endNanos = drill.t0 + 87_200_000_000L;
        drill.faults.addAll(List.of(kill, failover));
        // After the promotion (6.5 s into the failover), inside the leader kill's trailing 10 s too.
        long afterPromotion = drill.wallT0 + 82_500;
        List<Accounting.Run> both = List.of(
                new Accounting.Run("j", "redis", 101, 1, afterPromotion),
                new Accounting.Run("j", "kafka", 202, 1, afterPromotion + 40));
        assertEquals(
                "fallback double-write, both copies ran (run-once guard did not catch it, around Redis failover)",
                Accounting.cause(drill, both, 2));
        // A run inside the leader kill's own window still belongs to it.
        assertEquals(", around leader SIGKILL+restart", Accounting.faultNear(drill, drill.wallT0 + 65_000));
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
