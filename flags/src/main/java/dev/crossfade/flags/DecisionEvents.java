package dev.crossfade.flags;

import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.MigrationOpTracker;
import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.EventProcessor;

import java.io.IOException;
import java.util.function.Supplier;

/**
 * The SDK's event processor, kept to what LaunchDarkly can afford and use. The SDK sends an index event for each
 * context key it has not seen lately; a job without a routing key is evaluated as an anonymous context keyed by its jid
 * (so rollouts still split such jobs by jid), and a jid is never seen twice, so its events name one shared anonymous
 * context instead. Jobs with a routing key keep their own context, which the SDK's context-key cache deduplicates.
 *
 * <p>Evaluations that {@link FlagMemory} serves without the SDK are recorded here as the SDK would have recorded them,
 * so LaunchDarkly's evaluation counts include every routing decision. Evaluations made only to look at the flags
 * (share samples, the flip log) run {@link #quietly} and are not recorded: they are not decisions.
 */
final class DecisionEvents {
    /** What events of jobs without a routing key name: one context, indexed once per context-key flush. */
    static final LDContext UNKEYED = LDContext.builder(RoutingFlags.JOB_KIND, "crossfade-unkeyed-jobs")
            .anonymous(true).build();
    private static final ThreadLocal<Boolean> QUIET = new ThreadLocal<>();

    /** The SDK's processor once the client has built it; a no-op before. */
    private volatile EventProcessor processor = NONE;

    /** {@code events}, wrapped as the class comment says; for {@code LDConfig.Builder.events}. */
    ComponentConfigurer<EventProcessor> around(ComponentConfigurer<EventProcessor> events) {
        return context -> {
            EventProcessor built = events.build(context);
            processor = built;
            return new Wrapped(built);
        };
    }

    /** Records an evaluation {@link FlagMemory} served, as the SDK records one with no full event. */
    void recordRemembered(String flag, FlagMemory.Remembered r) {
        processor.recordEvaluationEvent(UNKEYED, flag, r.version(), r.detail().getVariationIndex(), r.value(),
                r.detail().getReason(), r.defaultValue(), null, false, null, false, null);
    }

    /** Runs {@code look} with the SDK's evaluation events on this thread left unrecorded. */
    static <T> T quietly(Supplier<T> look) {
        Boolean before = QUIET.get();
        QUIET.set(Boolean.TRUE);
        try {
            return look.get();
        } finally {
            if (before == null) {
                QUIET.remove();
            }
        }
    }

    private static final class Wrapped implements EventProcessor {
        private final EventProcessor events;

        Wrapped(EventProcessor events) {
            this.events = events;
        }

        @Override
        public void recordEvaluationEvent(LDContext context, String flagKey, int flagVersion, int variation,
                LDValue value, EvaluationReason reason, LDValue defaultValue, String prerequisiteOfFlagKey,
                boolean requireFullEvent, Long debugEventsUntilDate, boolean excludeFromSummaries,
                Long samplingRatio) {
            // Contexts with a routing key are not anonymous: the common case costs one field read.
            if (context != null && context.isAnonymous()) {
                if (QUIET.get() != null) {
                    return;
                }
                context = UNKEYED;
            }
            events.recordEvaluationEvent(context, flagKey, flagVersion, variation, value, reason, defaultValue,
                    prerequisiteOfFlagKey, requireFullEvent, debugEventsUntilDate, excludeFromSummaries,
                    samplingRatio);
        }

        @Override
        public void recordIdentifyEvent(LDContext context) {
            events.recordIdentifyEvent(context);
        }

        @Override
        public void recordCustomEvent(LDContext context, String eventKey, LDValue data, Double metricValue) {
            events.recordCustomEvent(context, eventKey, data, metricValue);
        }

        @Override
        public void recordMigrationEvent(MigrationOpTracker tracker) {
            events.recordMigrationEvent(tracker);
        }

        @Override
        public void flush() {
            events.flush();
        }

        @Override
        public void close() throws IOException {
            events.close();
        }
    }

    private static final EventProcessor NONE = new EventProcessor() {
        @Override
        public void recordEvaluationEvent(LDContext context, String flagKey, int flagVersion, int variation,
                LDValue value, EvaluationReason reason, LDValue defaultValue, String prerequisiteOfFlagKey,
                boolean requireFullEvent, Long debugEventsUntilDate, boolean excludeFromSummaries,
                Long samplingRatio) {
        }

        @Override
        public void recordIdentifyEvent(LDContext context) {
        }

        @Override
        public void recordCustomEvent(LDContext context, String eventKey, LDValue data, Double metricValue) {
        }

        @Override
        public void recordMigrationEvent(MigrationOpTracker tracker) {
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
}
