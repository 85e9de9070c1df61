package dev.crossfade.flags.internal;

import com.launchdarkly.logging.LDLogger;
import com.launchdarkly.logging.Logs;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.FeatureFlagsState;
import com.launchdarkly.sdk.server.FlagsStateOption;
import com.launchdarkly.sdk.server.MigrationOpTracker;
import com.launchdarkly.sdk.server.MigrationStage;
import com.launchdarkly.sdk.server.MigrationVariation;
import com.launchdarkly.sdk.server.interfaces.BigSegmentStoreStatusProvider;
import com.launchdarkly.sdk.server.interfaces.DataSourceStatusProvider;
import com.launchdarkly.sdk.server.interfaces.DataStoreStatusProvider;
import com.launchdarkly.sdk.server.interfaces.FlagChangeEvent;
import com.launchdarkly.sdk.server.interfaces.FlagChangeListener;
import com.launchdarkly.sdk.server.interfaces.FlagTracker;
import com.launchdarkly.sdk.server.interfaces.FlagValueChangeListener;
import com.launchdarkly.sdk.server.interfaces.LDClientInterface;
import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.ErrorCode;
import dev.openfeature.sdk.EventDetails;
import dev.openfeature.sdk.FlagEvaluationDetails;
import dev.openfeature.sdk.MutableContext;
import dev.openfeature.sdk.ProviderState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * An OpenFeature client seen through the slice of the LaunchDarkly client interface that routing uses: the flag
 * evaluations with their details, readiness, and flag-change notices. So routing decides the same way over any
 * OpenFeature provider as over the LaunchDarkly SDK, with the same safe defaults. Everything LaunchDarkly-only
 * (events, migration ops, big segments) is absent: nothing is sent anywhere.
 *
 * <p>A job's LaunchDarkly context becomes an OpenFeature evaluation context: its key is the targeting key, and its kind
 * ({@code kind}), {@code anonymous} and attributes ({@code queue}, {@code class}, ...) are attributes.
 */
public final class OpenFeatureClient implements LDClientInterface {
    private final Client client;
    private final List<FlagChangeListener> listeners = new CopyOnWriteArrayList<>();
    private final List<String> watched;
    private final Consumer<EventDetails> onChange = this::changed;

    private OpenFeatureClient(Client client, List<String> watched) {
        this.client = client;
        this.watched = List.copyOf(watched);
        client.onProviderConfigurationChanged(onChange);
        client.onProviderReady(onChange);
    }

    /**
     * Adapts {@code client}, waiting up to {@code startWait} for its provider to be ready. {@code flags} are the keys
     * routing reads, reported as changed when the provider says its configuration changed without naming flags.
     */
    public static OpenFeatureClient start(Client client, List<String> flags, Duration startWait) {
        OpenFeatureClient c = new OpenFeatureClient(Objects.requireNonNull(client, "client"), flags);
        CountDownLatch ready = new CountDownLatch(1);
        Consumer<EventDetails> onReady = e -> ready.countDown();
        client.onProviderReady(onReady);
        try {
            if (!c.isInitialized()) {
                ready.await(startWait.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            client.removeHandler(dev.openfeature.sdk.ProviderEvent.PROVIDER_READY, onReady);
        }
        return c;
    }

    private void changed(EventDetails details) {
        List<String> keys = details == null
                        || details.getFlagsChanged() == null
                        || details.getFlagsChanged().isEmpty()
                ? watched
                : details.getFlagsChanged();
        for (String key : keys) {
            FlagChangeEvent event = new FlagChangeEvent(key);
            for (FlagChangeListener l : listeners) {
                l.onFlagChange(event);
            }
        }
    }

    /** The job's context as OpenFeature's: targeting key, kind, anonymous and the attributes. */
    static MutableContext contextOf(LDContext ctx) {
        MutableContext c = new MutableContext(ctx.getKey());
        c.add("kind", ctx.getKind().toString());
        c.add("anonymous", ctx.isAnonymous());
        for (String n : ctx.getCustomAttributeNames()) {
            LDValue v = ctx.getValue(n);
            switch (v.getType()) {
                case STRING -> c.add(n, v.stringValue());
                case BOOLEAN -> c.add(n, v.booleanValue());
                case NUMBER -> c.add(n, v.doubleValue());
                case NULL -> {}
                default -> c.add(n, v.toJsonString());
            }
        }
        return c;
    }

    private static <T> EvaluationDetail<T> detail(FlagEvaluationDetails<T> d, T defaultValue) {
        ErrorCode code = d.getErrorCode();
        if (code != null) {
            EvaluationReason.ErrorKind kind = switch (code) {
                case FLAG_NOT_FOUND -> EvaluationReason.ErrorKind.FLAG_NOT_FOUND;
                case TYPE_MISMATCH -> EvaluationReason.ErrorKind.WRONG_TYPE;
                case PROVIDER_NOT_READY -> EvaluationReason.ErrorKind.CLIENT_NOT_READY;
                case PARSE_ERROR -> EvaluationReason.ErrorKind.MALFORMED_FLAG;
                default -> EvaluationReason.ErrorKind.EXCEPTION;
            };
            return EvaluationDetail.fromValue(
                    defaultValue, EvaluationDetail.NO_VARIATION, EvaluationReason.error(kind));
        }
        EvaluationReason reason =
                "DISABLED".equals(d.getReason()) ? EvaluationReason.off() : EvaluationReason.fallthrough();
        return EvaluationDetail.fromValue(
                d.getValue() == null ? defaultValue : d.getValue(), EvaluationDetail.NO_VARIATION, reason);
    }

    @Override
    public boolean isInitialized() {
        return client.getProviderState() == ProviderState.READY || client.getProviderState() == ProviderState.STALE;
    }

    @Override
    public EvaluationDetail<Boolean> boolVariationDetail(String key, LDContext context, boolean defaultValue) {
        return detail(client.getBooleanDetails(key, defaultValue, contextOf(context)), defaultValue);
    }

    @Override
    public EvaluationDetail<String> stringVariationDetail(String key, LDContext context, String defaultValue) {
        return detail(client.getStringDetails(key, defaultValue, contextOf(context)), defaultValue);
    }

    @Override
    public boolean boolVariation(String key, LDContext context, boolean defaultValue) {
        return boolVariationDetail(key, context, defaultValue).getValue();
    }

    @Override
    public String stringVariation(String key, LDContext context, String defaultValue) {
        return stringVariationDetail(key, context, defaultValue).getValue();
    }

    /** A boolean or string flag's value (what the flip log and status read); null when neither. */
    @Override
    public LDValue jsonValueVariation(String key, LDContext context, LDValue defaultValue) {
        MutableContext c = contextOf(context);
        FlagEvaluationDetails<Boolean> b = client.getBooleanDetails(key, false, c);
        if (b.getErrorCode() == null) {
            return LDValue.of(b.getValue());
        }
        FlagEvaluationDetails<String> s = client.getStringDetails(key, "", c);
        return s.getErrorCode() == null ? LDValue.of(s.getValue()) : defaultValue;
    }

    @Override
    public EvaluationDetail<LDValue> jsonValueVariationDetail(String key, LDContext context, LDValue defaultValue) {
        return EvaluationDetail.fromValue(
                jsonValueVariation(key, context, defaultValue),
                EvaluationDetail.NO_VARIATION,
                EvaluationReason.fallthrough());
    }

    @Override
    public int intVariation(String key, LDContext context, int defaultValue) {
        return client.getIntegerValue(key, defaultValue, contextOf(context));
    }

    @Override
    public double doubleVariation(String key, LDContext context, double defaultValue) {
        return client.getDoubleValue(key, defaultValue, contextOf(context));
    }

    @Override
    public EvaluationDetail<Integer> intVariationDetail(String key, LDContext context, int defaultValue) {
        return detail(client.getIntegerDetails(key, defaultValue, contextOf(context)), defaultValue);
    }

    @Override
    public EvaluationDetail<Double> doubleVariationDetail(String key, LDContext context, double defaultValue) {
        return detail(client.getDoubleDetails(key, defaultValue, contextOf(context)), defaultValue);
    }

    @Override
    public MigrationVariation migrationVariation(String key, LDContext context, MigrationStage defaultStage) {
        throw new UnsupportedOperationException("migration ops are LaunchDarkly's; not over OpenFeature");
    }

    @Override
    public boolean isFlagKnown(String key) {
        return client.getBooleanDetails(key, false).getErrorCode() != ErrorCode.FLAG_NOT_FOUND;
    }

    @Override
    public FlagTracker getFlagTracker() {
        return new FlagTracker() {
            @Override
            public void addFlagChangeListener(FlagChangeListener listener) {
                listeners.add(listener);
            }

            @Override
            public void removeFlagChangeListener(FlagChangeListener listener) {
                listeners.remove(listener);
            }

            @Override
            public FlagChangeListener addFlagValueChangeListener(
                    String key, LDContext context, FlagValueChangeListener listener) {
                throw new UnsupportedOperationException("not used by routing");
            }
        };
    }

    @Override
    public DataSourceStatusProvider getDataSourceStatusProvider() {
        return new DataSourceStatusProvider() {
            @Override
            public Status getStatus() {
                return new Status(isInitialized() ? State.VALID : State.INITIALIZING, Instant.now(), null);
            }

            @Override
            public void addStatusListener(StatusListener listener) {
                // OpenFeature's readiness is read on each decision; there is no status stream to relay.
            }

            @Override
            public void removeStatusListener(StatusListener listener) {}

            @Override
            public boolean waitFor(State state, Duration timeout) {
                return getStatus().getState() == state;
            }
        };
    }

    @Override
    public void close() {
        client.removeHandler(dev.openfeature.sdk.ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, onChange);
        client.removeHandler(dev.openfeature.sdk.ProviderEvent.PROVIDER_READY, onChange);
    }

    // ---- LaunchDarkly-only: nothing to send or report ----

    @Override
    public void track(String eventName, LDContext context) {}

    @Override
    public void trackData(String eventName, LDContext context, LDValue data) {}

    @Override
    public void trackMetric(String eventName, LDContext context, LDValue data, double metricValue) {}

    @Override
    public void trackMigration(MigrationOpTracker tracker) {}

    @Override
    public void identify(LDContext context) {}

    @Override
    public FeatureFlagsState allFlagsState(LDContext context, FlagsStateOption... options) {
        throw new UnsupportedOperationException("not used by routing");
    }

    @Override
    public void flush() {}

    @Override
    public boolean isOffline() {
        return false;
    }

    @Override
    public BigSegmentStoreStatusProvider getBigSegmentStoreStatusProvider() {
        throw new UnsupportedOperationException("not used by routing");
    }

    @Override
    public DataStoreStatusProvider getDataStoreStatusProvider() {
        throw new UnsupportedOperationException("not used by routing");
    }

    @Override
    public LDLogger getLogger() {
        return LDLogger.withAdapter(Logs.none(), "");
    }

    @Override
    public String secureModeHash(LDContext context) {
        throw new UnsupportedOperationException("not used by routing");
    }

    @Override
    public String version() {
        return "openfeature";
    }
}
