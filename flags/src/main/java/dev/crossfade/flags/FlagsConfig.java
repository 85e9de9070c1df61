package dev.crossfade.flags;

import com.launchdarkly.sdk.ContextBuilder;
import dev.crossfade.api.Job;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Duration;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * Flag keys, flag source and timing for {@link RoutingFlags}. Immutable; build with {@link #custom()}.
 *
 * <p>With LaunchDarkly as the source, the SDK streams flag changes (each applies to the next decision) and sends
 * LaunchDarkly events: every decision counted per flag and variation, and an index event for each routing key the
 * SDK's context-key cache has not seen lately (jobs without a routing key are not indexed). Its endpoints are
 * LaunchDarkly's own unless the source names others ({@link LaunchDarklyEndpoints}); the CLI settings are
 * {@code flags.sdk-key}, {@code flags.relay-uri}, {@code flags.stream-uri}, {@code flags.base-uri} (polling) and
 * {@code flags.events-uri}.
 *
 * <table>
 *   <caption>Settings and defaults</caption>
 *   <tr><th>setting</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>source</td><td>(required)</td><td>{@link FlagSource}: LaunchDarkly (directly, through a Relay Proxy,
 *   or at given endpoints), a flags file, or a custom SDK data source</td></tr>
 *   <tr><td>routeFlag</td><td>{@code crossfade-route}</td><td>string flag, variations {@code redis} and
 *   {@code kafka}; off variation {@code redis}; percentage rollouts split enqueues</td></tr>
 *   <tr><td>killSwitchFlag</td><td>{@code crossfade-kill-switch}</td><td>boolean; true sends every enqueue to Redis
 *   and stops shadowing</td></tr>
 *   <tr><td>shadowFlag</td><td>{@code crossfade-shadow}</td><td>boolean, usually a percentage rollout; true gives
 *   the job a shadow copy on the other backend</td></tr>
 *   <tr><td>migrationFlag</td><td>none</td><td>a LaunchDarkly migration flag; when set it replaces the route and
 *   shadow flags (see {@link MigrationStageMapping}); with LaunchDarkly as the source, each enqueue is reported as a
 *   migration {@code write} and each compared shadow pair as a {@code read} ({@link MigrationOpTracking})</td></tr>
 *   <tr><td>startWait</td><td>5 s</td><td>how long start-up waits for flags before routing on the safe default;
 *   enqueues never wait longer</td></tr>
 *   <tr><td>contextCustomizer</td><td>none</td><td>adds attributes to each job's evaluation context (beyond
 *   {@code queue} and {@code class})</td></tr>
 *   <tr><td>meterRegistry</td><td>Micrometer's global registry</td><td>where decision and health meters go</td></tr>
 * </table>
 */
public final class FlagsConfig {
    public static final String DEFAULT_ROUTE_FLAG = "crossfade-route";
    public static final String DEFAULT_KILL_SWITCH_FLAG = "crossfade-kill-switch";
    public static final String DEFAULT_SHADOW_FLAG = "crossfade-shadow";

    private final FlagSource source;
    private final String routeFlag;
    private final String killSwitchFlag;
    private final String shadowFlag;
    private final String migrationFlag;
    private final Duration startWait;
    private final BiConsumer<Job, ContextBuilder> contextCustomizer;
    private final MeterRegistry meterRegistry;

    private FlagsConfig(Builder b) {
        this.source = Objects.requireNonNull(
                b.source, "flag source is required (LaunchDarkly SDK key, flags file " + "or custom data source)");
        this.routeFlag = b.routeFlag;
        this.killSwitchFlag = b.killSwitchFlag;
        this.shadowFlag = b.shadowFlag;
        this.migrationFlag = b.migrationFlag;
        this.startWait = b.startWait;
        this.contextCustomizer = b.contextCustomizer;
        this.meterRegistry = b.meterRegistry;
    }

    public static Builder custom() {
        return new Builder();
    }

    public FlagSource source() {
        return source;
    }

    public String routeFlag() {
        return routeFlag;
    }

    public String killSwitchFlag() {
        return killSwitchFlag;
    }

    public String shadowFlag() {
        return shadowFlag;
    }

    /** Null when the route and shadow flags are used. */
    public String migrationFlag() {
        return migrationFlag;
    }

    public Duration startWait() {
        return startWait;
    }

    public BiConsumer<Job, ContextBuilder> contextCustomizer() {
        return contextCustomizer;
    }

    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /** Builder for {@link FlagsConfig}. */
    public static final class Builder {
        private FlagSource source;
        private String routeFlag = DEFAULT_ROUTE_FLAG;
        private String killSwitchFlag = DEFAULT_KILL_SWITCH_FLAG;
        private String shadowFlag = DEFAULT_SHADOW_FLAG;
        private String migrationFlag;
        private Duration startWait = Duration.ofSeconds(5);
        private BiConsumer<Job, ContextBuilder> contextCustomizer = (job, ctx) -> {};
        private MeterRegistry meterRegistry = Metrics.globalRegistry;

        private Builder() {}

        public Builder source(FlagSource source) {
            this.source = Objects.requireNonNull(source, "source");
            return this;
        }

        public Builder routeFlag(String key) {
            this.routeFlag = requireKey(key, "routeFlag");
            return this;
        }

        public Builder killSwitchFlag(String key) {
            this.killSwitchFlag = requireKey(key, "killSwitchFlag");
            return this;
        }

        public Builder shadowFlag(String key) {
            this.shadowFlag = requireKey(key, "shadowFlag");
            return this;
        }

        public Builder migrationFlag(String key) {
            this.migrationFlag = requireKey(key, "migrationFlag");
            return this;
        }

        public Builder startWait(Duration startWait) {
            if (startWait == null || startWait.isNegative()) {
                throw new IllegalArgumentException("startWait must be zero or positive, got " + startWait);
            }
            this.startWait = startWait;
            return this;
        }

        public Builder contextCustomizer(BiConsumer<Job, ContextBuilder> customizer) {
            this.contextCustomizer = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        public Builder meterRegistry(MeterRegistry registry) {
            this.meterRegistry = Objects.requireNonNull(registry, "registry");
            return this;
        }

        private static String requireKey(String key, String name) {
            if (key == null || key.isBlank()) {
                throw new IllegalArgumentException(name + " must be a non-empty flag key");
            }
            return key;
        }

        public FlagsConfig build() {
            return new FlagsConfig(this);
        }
    }
}
