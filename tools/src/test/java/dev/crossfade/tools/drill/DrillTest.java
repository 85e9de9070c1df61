package dev.crossfade.tools.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The CI variant of the fault drill: 10,000 jobs through the router into worker processes while nine kinds of fault
 * hit, on the drill's own Redis and Kafka (it must own them to kill them). No job may be lost; every fault kind must
 * really have happened; the poison jobs and malformed payloads must be dead with a reason; the Redis outage longer
 * than the heartbeat TTL must rerun no live process's job and recover the killed one's. Duplicates are expected on
 * an at-least-once backend and are reported by cause, not asserted away.
 */
class DrillTest {
    private static final List<FaultKind> KINDS = List.of(
            FaultKind.WORKER_SIGKILL,
            FaultKind.BROKER_PAUSE,
            FaultKind.REDIS_RESTART,
            FaultKind.POISON_JOB,
            FaultKind.MALFORMED_PAYLOAD,
            FaultKind.CONSUMER_JOIN_LEAVE,
            FaultKind.FLAGS_GARBAGE,
            FaultKind.BROKER_RESTART,
            FaultKind.REDIS_OUTAGE);

    @Test
    void tenThousandJobsThroughNineKindsOfFaultLoseNothing() throws Exception {
        StringWriter text = new StringWriter();
        PrintWriter out = new PrintWriter(text, true);
        DrillReport report = new Drill(
                        DrillSettings.custom()
                                .jobs(10_000)
                                .rate(250)
                                .workers(2)
                                .concurrency(4)
                                .partitions(4)
                                .faults(KINDS.size())
                                .kinds(KINDS)
                                .drainTimeout(Duration.ofSeconds(150))
                                .seed(7)
                                .build(),
                        out)
                .run();
        report.print(out);
        String table = text.toString();
        System.out.println(table);

        assertEquals(0, report.lost(), table);
        assertEquals(0, report.liveReruns(), "no live process's job rerun by a peer:\n" + table);
        assertTrue(report.orphansEnded()[0] >= 0 && report.orphansEnded()[1] == report.orphansEnded()[0], table);
        assertTrue(report.outageJobsRunOnce()[0] > 0, table);
        assertTrue(report.passed(), table);
        assertEquals(Set.copyOf(KINDS), report.injected().keySet(), "every fault kind happened:\n" + table);
        assertEquals(
                KINDS.size(),
                report.injected().values().stream().mapToInt(Integer::intValue).sum(),
                table);
        assertTrue(report.processed() >= 10_000 - report.stillQueued().size(), table);
        assertEquals(Set.of(), Set.copyOf(report.malformedMissing()), table);
        assertEquals(2, report.malformedFound().size(), table);
        // Warm-up probe plus the throwing and the unknown-class job.
        assertEquals(3, report.expectedDeadFound().size(), table);
        assertEquals(Set.of(), report.unexpectedDead().keySet(), table);
        assertTrue(EnumSet.copyOf(report.injected().keySet()).size() >= 5, table);
    }
}
