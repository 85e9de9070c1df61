package dev.crossfade.flags;

import com.launchdarkly.sdk.server.MigrationOp;
import com.launchdarkly.sdk.server.MigrationOpTracker;
import com.launchdarkly.sdk.server.MigrationOrigin;
import com.launchdarkly.sdk.server.interfaces.LDClientInterface;
import dev.crossfade.api.Backend;
import java.time.Duration;

/**
 * One operation of a LaunchDarkly migration flag, reported to LaunchDarkly's migration metrics through the SDK's
 * {@link MigrationOpTracker}: Redis is the {@code old} origin and Kafka the {@code new} one. An enqueue is a
 * {@code write} (which backends were written, how long each write took, which failed); running a shadowed job's two
 * copies is a {@code read} (each copy's run time and failure, and whether the shadow comparison found them
 * consistent). Not thread-safe: one thread fills it in and {@link #send}s it once.
 */
public final class MigrationOpTracking {
    private final LDClientInterface client;
    private final MigrationOpTracker tracker;
    private boolean sent;

    MigrationOpTracking(LDClientInterface client, MigrationOpTracker tracker, MigrationOp op) {
        this.client = client;
        this.tracker = tracker;
        tracker.op(op);
    }

    private static MigrationOrigin origin(Backend backend) {
        return backend == Backend.KAFKA ? MigrationOrigin.NEW : MigrationOrigin.OLD;
    }

    /** {@code backend} was written to (or ran the job) in {@code took}, and failed if {@code failed}. */
    public void ran(Backend backend, Duration took, boolean failed) {
        MigrationOrigin o = origin(backend);
        tracker.invoked(o);
        if (took != null) {
            tracker.latency(o, took);
        }
        if (failed) {
            tracker.error(o);
        }
    }

    /** The shadow comparison's verdict on the two copies (both must have {@link #ran}). */
    public void consistent(boolean consistent) {
        tracker.consistency(() -> consistent);
    }

    /** Hands the operation to the SDK's event queue; later calls do nothing. Never throws. */
    public void send() {
        if (sent) {
            return;
        }
        sent = true;
        try {
            client.trackMigration(tracker);
        } catch (RuntimeException e) {
            // Metrics only: a failure here must never reach an enqueue or a worker.
        }
    }
}
