package dev.crossfade.flags;

import dev.crossfade.api.Backend;

/**
 * Where one job goes: its authoritative backend, and the backend that gets a shadow copy (or none).
 *
 * @param primary   the backend whose copy runs for real
 * @param shadowTo  the backend that gets a copy marked shadow, or null
 * @param reason    why, for metrics and logs
 * @param migration this enqueue's operation for LaunchDarkly's migration metrics, filled in and sent by the router;
 *                  null unless a LaunchDarkly migration flag decided ({@link FlagsConfig.Builder#migrationFlag})
 */
public record RouteDecision(Backend primary, Backend shadowTo, Reason reason, MigrationOpTracking migration) {

    /** A decision without a migration operation to report. */
    public RouteDecision(Backend primary, Backend shadowTo, Reason reason) {
        this(primary, shadowTo, reason, null);
    }

    /** Why a decision came out as it did. */
    public enum Reason {
        /** The route flag (or its percentage rollout) chose. */
        ROUTE_FLAG,
        /** The migration flag's stage chose. */
        MIGRATION_STAGE,
        /** The kill switch is on: everything to Redis, no shadow. */
        KILL_SWITCH,
        /** Flags unavailable, missing or invalid: the safe default, Redis and no shadow. */
        SAFE_DEFAULT
    }

    /** The safe default: Redis, no shadow. */
    public static RouteDecision safeDefault() {
        return SAFE;
    }

    private static final RouteDecision SAFE = new RouteDecision(Backend.REDIS, null, Reason.SAFE_DEFAULT);

    public boolean shadowed() {
        return shadowTo != null;
    }
}
