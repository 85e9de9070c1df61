package dev.crossfade.cli.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.WorkerRuntime;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The patient start of a runtime whose server answers: the caller goes on as soon as the runtime runs. */
class PatientStartTest {

    /** A runtime that starts at once. */
    private static final class Immediate implements WorkerRuntime {
        @Override
        public void start() {}

        @Override
        public boolean stop(Duration timeout) {
            return true;
        }

        @Override
        public void close() {}
    }

    @Test
    void aStartThatSucceedsReturnsRunningRatherThanAfterTheFirstWait() {
        // The first wait is long so that, if start() only returned once it ran out, the starter would still be
        // blocked from recording its success when this test looks.
        PatientStart start = new PatientStart("kafka", new Immediate(), Duration.ofSeconds(20), Duration.ofSeconds(1));
        try {
            start.start();
            assertEquals(PatientStart.Phase.RUNNING, start.phase(), "phase when start() returns");
        } finally {
            start.stop(Duration.ofSeconds(1));
        }
    }
}
