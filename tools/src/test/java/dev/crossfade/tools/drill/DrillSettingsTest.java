package dev.crossfade.tools.drill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.kafka.PartitionLag;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The drill's fault schedule per mode, and the cluster faults' choice of partition (no servers). */
class DrillSettingsTest {
    @Test
    void theClusterScheduleHasLeaderKillsAFailoverAndASentinelRestart() {
        DrillSettings s = DrillSettings.custom().cluster(true).build();
        assertTrue(
                s.kinds()
                        .containsAll(
                                List.of(FaultKind.LEADER_KILL, FaultKind.REDIS_FAILOVER, FaultKind.SENTINEL_RESTART)),
                s.kinds().toString());
        assertTrue(s.kinds().stream().allMatch(k -> k.runsOn(true)), s.kinds().toString());
    }

    @Test
    void thePlainScheduleHasNoClusterFault() {
        DrillSettings s = DrillSettings.custom().build();
        assertTrue(
                s.kinds().stream().noneMatch(FaultKind::isClusterFault),
                s.kinds().toString());
        assertTrue(s.kinds().contains(FaultKind.REDIS_OUTAGE), s.kinds().toString());
    }

    @Test
    void aFaultTheModesServersCannotTakeIsRefusedByName() {
        IllegalArgumentException plain = assertThrows(
                IllegalArgumentException.class,
                () -> DrillSettings.custom()
                        .kinds(List.of(FaultKind.REDIS_FAILOVER))
                        .build());
        assertEquals("fault kind redis-failover needs --cluster", plain.getMessage());
        IllegalArgumentException cluster = assertThrows(
                IllegalArgumentException.class,
                () -> DrillSettings.custom()
                        .cluster(true)
                        .kinds(List.of(FaultKind.REDIS_RESTART))
                        .build());
        assertTrue(
                cluster.getMessage().startsWith("fault kind redis-restart needs the plain drill"),
                cluster.getMessage());
    }

    @Test
    void theBusiestPartitionIsTheOneWithTheMostLag() {
        List<PartitionLag> lag = List.of(
                new PartitionLag("t", 0, 900, 900, 0, Duration.ZERO),
                new PartitionLag("t", 1, 500, 380, 120, Duration.ofSeconds(2)),
                new PartitionLag("t", 2, 700, 690, 10, Duration.ofSeconds(1)));
        assertEquals(1, ClusterServers.busiest(lag));
        // Nothing behind: the partition with the most records.
        assertEquals(
                0,
                ClusterServers.busiest(List.of(
                        new PartitionLag("t", 0, 900, 900, 0, Duration.ZERO),
                        new PartitionLag("t", 1, 500, 500, 0, Duration.ZERO))));
    }
}
