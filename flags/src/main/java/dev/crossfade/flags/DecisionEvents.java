package dev.crossfade.flags;

import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.MigrationOpTracker;
import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.EventProcessor;
import java.io.IOException;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The SDK's event processor, kept to what LaunchDarkly can afford and use, and counting every decision.
 *
 * <p>Counts: an evaluation that asks for nothing but a count (no full or debug event), whether the SDK made it or
 * {@link FlagMemory} served it without the SDK, is counted in {@link DecisionCounts} on the deciding thread and sent as
 * a summary event by {@link SummaryPoster}. The SDK would count it through its event queue, which drops events when
 * deciding threads outrun its one event thread; and it never sees what the memory serves. Evaluations made only to look
 * at the flags (share samples, the flip log) run {@link #quietly} and are not counted: they are not decisions.
 *
 * <p>Contexts: the SDK sends an index event for each context key it has not seen lately. A job with a routing key is
 * passed on to the SDK for that alone (its count excluded there), so the SDK's context-key cache deduplicates it. A job
 * without one is evaluated as an anonymous context keyed by its jid, so that rollouts still split such jobs by jid; a
 * jid is never seen twice, so it is not indexed at all, and a full event for it names one shared anonymous context.
 */
final class DecisionEvents {
    /** What a full event of a job without a routing key names instead of its jid. */
    static final LDContext UNKEYED = LDContext.builder(RoutingFlags.JOB_KIND, "crossfade-unkeyed-jobs")
            .anonymous(true)
            .build();

    private static final ThreadLocal<Boolean> QUIET = new ThreadLocal<>();

    private final DecisionCounts counts;

    DecisionEvents(DecisionCounts counts) {
        this.counts = counts;
    }

    /**
     * {@code events}, wrapped as the class comment says, for {@code LDConfig.Builder.events}; counts are posted to the
     * SDK's events endpoint every {@code flushInterval}, or never when {@code flushInterval} is null (no events).
     */
    ComponentConfigurer<EventProcessor> around(ComponentConfigurer<EventProcessor> events, Duration flushInterval) {
        return context -> new Wrapped(
                events.build(context),
                counts,
                flushInterval == null ? null : new SummaryPoster(counts, context, flushInterval));
    }

    /** Counts an evaluation {@link FlagMemory} served. */
    void recordRemembered(FlagMemory.Remembered r) {
        r.counter().increment();
    }

    /** Runs {@code look} with the SDK's evaluations on this thread left uncounted. */
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
        private final DecisionCounts counts;
        private final SummaryPoster poster; // null: counts go nowhere

        Wrapped(EventProcessor events, DecisionCounts counts, SummaryPoster poster) {
            this.events = events;
            this.counts = counts;
            this.poster = poster;
        }

        @Override
        public void recordEvaluationEvent(
                LDContext context,
                String flagKey,
                int flagVersion,
                int variation,
                LDValue value,
                EvaluationReason reason,
                LDValue defaultValue,
                String prerequisiteOfFlagKey,
                boolean requireFullEvent,
                Long debugEventsUntilDate,
                boolean excludeFromSummaries,
                Long samplingRatio) {
            boolean anonymous = context != null && context.isAnonymous();
            if (anonymous && QUIET.get() != null) {
                return;
            }
            if (requireFullEvent || debugEventsUntilDate != null || excludeFromSummaries) {
                // More than a count: the SDK's own business, with a bounded context.
                events.recordEvaluationEvent(
                        anonymous ? UNKEYED : context,
                        flagKey,
                        flagVersion,
                        variation,
                        value,
                        reason,
                        defaultValue,
                        prerequisiteOfFlagKey,
                        requireFullEvent,
                        debugEventsUntilDate,
                        excludeFromSummaries,
                        samplingRatio);
                return;
            }
            counts.count(flagKey, flagVersion, variation, value, defaultValue);
            if (!anonymous && context != null) {
                // For the index event alone: counted above.
                events.recordEvaluationEvent(
                        context,
                        flagKey,
                        flagVersion,
                        variation,
                        value,
                        reason,
                        defaultValue,
                        prerequisiteOfFlagKey,
                        false,
                        null,
                        true,
                        samplingRatio);
            }
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
            if (poster != null) {
                poster.flush();
            }
        }

        @Override
        public void close() throws IOException {
            if (poster != null) {
                poster.close(Duration.ofSeconds(5));
            }
            events.close();
        }
    }
}
