package dev.crossfade.router.shadow;

import dev.crossfade.api.Job;
import dev.crossfade.flags.MigrationOpTracking;
import dev.crossfade.flags.RoutingFlags;
import java.util.Objects;

/**
 * Reports each compared pair of copies to LaunchDarkly's migration metrics as a {@code read} of the migration flag:
 * each copy's run time and failure, and the comparison's verdict as consistency. A shadow copy that only recorded
 * delivery (its worker is not shadow-safe) counts as the authoritative side alone, without consistency. Does nothing
 * unless a LaunchDarkly migration flag routes ({@link RoutingFlags#migrationRead}).
 *
 * <p>The read is evaluated for a context keyed by the jid (anonymous) with the job's class: the comparison does not
 * carry the job's routing key or queue, so a migration flag that targets those may serve this read another stage than
 * the enqueue saw.
 */
public final class MigrationReads implements ShadowComparator.Compared {
    private final RoutingFlags flags;

    public MigrationReads(RoutingFlags flags) {
        this.flags = Objects.requireNonNull(flags, "flags");
    }

    @Override
    public void compared(Observation primary, Observation shadow, boolean consistent) {
        MigrationOpTracking read = flags.migrationRead(
                Job.builder(primary.className()).jid(primary.jid()).build());
        if (read == null) {
            return;
        }
        read.ran(primary.backend(), primary.duration(), primary.outcome() == Observation.OutcomeKind.FAILED);
        if (shadow.ran()) {
            read.ran(shadow.backend(), shadow.duration(), shadow.outcome() == Observation.OutcomeKind.FAILED);
            read.consistent(consistent);
        }
        read.send();
    }
}
