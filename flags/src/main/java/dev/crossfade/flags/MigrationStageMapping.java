package dev.crossfade.flags;

import com.launchdarkly.sdk.server.MigrationStage;
import dev.crossfade.api.Backend;

/**
 * How LaunchDarkly's six migration stages map onto jobs. For jobs, "writing" is enqueueing and "reading" is running,
 * so the authoritative copy is the one that runs for real and the other is a shadow copy.
 *
 * <table>
 *   <caption>Stage mapping</caption>
 *   <tr><th>stage</th><th>authoritative</th><th>shadow copy to</th></tr>
 *   <tr><td>off</td><td>Redis</td><td>none</td></tr>
 *   <tr><td>dualwrite</td><td>Redis</td><td>Kafka</td></tr>
 *   <tr><td>shadow</td><td>Redis</td><td>Kafka</td></tr>
 *   <tr><td>live</td><td>Kafka</td><td>Redis</td></tr>
 *   <tr><td>rampdown</td><td>Kafka</td><td>Redis</td></tr>
 *   <tr><td>complete</td><td>Kafka</td><td>none</td></tr>
 * </table>
 * A shadow copy runs only workers registered as shadow-safe, and only to be compared; others record delivery. So
 * dualwrite and shadow behave the same for jobs (as do live and rampdown): LaunchDarkly's distinction between writing to
 * both and reading from both has no separate meaning when the write is the enqueue.
 */
public final class MigrationStageMapping {
    private MigrationStageMapping() {}

    /** The decision for a stage. */
    public static RouteDecision decide(MigrationStage stage) {
        return switch (stage) {
            case OFF -> new RouteDecision(Backend.REDIS, null, RouteDecision.Reason.MIGRATION_STAGE);
            case DUAL_WRITE, SHADOW ->
                new RouteDecision(Backend.REDIS, Backend.KAFKA, RouteDecision.Reason.MIGRATION_STAGE);
            case LIVE, RAMP_DOWN ->
                new RouteDecision(Backend.KAFKA, Backend.REDIS, RouteDecision.Reason.MIGRATION_STAGE);
            case COMPLETE -> new RouteDecision(Backend.KAFKA, null, RouteDecision.Reason.MIGRATION_STAGE);
        };
    }
}
