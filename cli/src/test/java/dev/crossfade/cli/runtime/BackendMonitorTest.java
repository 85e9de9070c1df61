package dev.crossfade.cli.runtime;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * The monitor's verdicts with a check that hangs in its client call (a pure unit: a hand-written check, no servers):
 * the backend is declared DOWN while the monitor stays live and answers from memory; once the check returns the
 * backend is UP again; and a monitor that stops deciding is reported STALE and not live.
 */
class BackendMonitorTest {
    /** Answers at once unless told to hang, then waits until released. */
    private static final class Hanging implements BackendCheck {
        final AtomicBoolean hang = new AtomicBoolean();
        volatile CountDownLatch release = new CountDownLatch(1);

        @Override
        public Backend backend() {
            return Backend.KAFKA;
        }

        @Override
        public String address() {
            return "broker:9092";
        }

        @Override
        public Map<String, Object> read() {
            if (hang.get()) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return Map.of("dlq", 3L);
        }

        @Override
        public void close() {
            release.countDown();
        }
    }

    private static BackendMonitor.State kafka(BackendMonitor m) {
        return m.states().get(0);
    }

    @Test
    void aHangingCheckMakesItsBackendDownNotTheMonitor() {
        Hanging check = new Hanging();
        BackendMonitor m = new BackendMonitor(List.of(check), Duration.ofMillis(200), null);
        try {
            m.start();
            await().atMost(Duration.ofSeconds(10)).until(() -> kafka(m).up());
            assertEquals(Map.of("dlq", 3L), kafka(m).facts());

            check.hang.set(true);
            await().atMost(Duration.ofSeconds(10)).until(() -> !kafka(m).up());
            BackendMonitor.State down = kafka(m);
            assertEquals(BackendMonitor.Status.DOWN, down.status());
            assertTrue(down.error().contains("no answer within 200 ms"), down.error());
            assertEquals(Map.of("dlq", 3L), down.facts(), "the last values stay for the dashboard");
            assertTrue(m.live(), "a hung server is no reason to restart the process");

            check.hang.set(false);
            check.release.countDown();
            await().atMost(Duration.ofSeconds(10)).until(() -> kafka(m).up());
        } finally {
            m.close();
        }
    }

    @Test
    void aMonitorThatStopsDecidingIsStaleAndNotLive() {
        Hanging check = new Hanging();
        BackendMonitor m = new BackendMonitor(List.of(check), Duration.ofMillis(200), null);
        m.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> kafka(m).up());
        // Stands for a wedged scheduler: nothing decides any more.
        m.close();
        await().atMost(BackendMonitor.STALE_AFTER.plusSeconds(10)).until(() -> !m.live());
        assertEquals(BackendMonitor.Status.STALE, kafka(m).status());
        assertFalse(kafka(m).up());
        assertTrue(kafka(m).error().contains("health monitor is stuck"), kafka(m).error());
    }
}
