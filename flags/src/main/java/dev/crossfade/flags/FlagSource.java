package dev.crossfade.flags;

import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.DataSource;
import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where flag data comes from. Production reads LaunchDarkly, directly or through a Relay Proxy: the SDK streams flag
 * changes as they happen and sends LaunchDarkly its evaluation events (counts per flag and variation, and the contexts
 * that have routing keys), so flag insights show the routing traffic. Local runs and the demo read a flags file through
 * the SDK's own FileData source, so editing the file moves traffic without a restart; tests may plug any SDK data
 * source. Neither of those sends events. Teams on another flag service give an OpenFeature client over their
 * provider ({@link #openFeature}): the same flags, decisions and safe defaults, evaluated through OpenFeature.
 *
 * <table>
 *   <caption>CLI settings for LaunchDarkly</caption>
 *   <tr><th>setting</th><th>meaning</th></tr>
 *   <tr><td>{@code flags.sdk-key}</td><td>the environment's SDK key (or {@code LD_SDK_KEY}); never logged</td></tr>
 *   <tr><td>{@code flags.relay-uri}</td><td>a Relay Proxy serving all three services</td></tr>
 *   <tr><td>{@code flags.stream-uri}</td><td>the streaming service, if not LaunchDarkly's</td></tr>
 *   <tr><td>{@code flags.base-uri}</td><td>the polling service, if not LaunchDarkly's</td></tr>
 *   <tr><td>{@code flags.events-uri}</td><td>the events service, if not LaunchDarkly's</td></tr>
 * </table>
 * See {@link LaunchDarklyEndpoints}.
 */
public sealed interface FlagSource
        permits FlagSource.LaunchDarkly, FlagSource.File, FlagSource.Custom, FlagSource.OpenFeature {

    /** A short description for logs and {@code crossfade status}; never contains the SDK key. */
    String describe();

    /** LaunchDarkly itself, with an SDK key. */
    static FlagSource launchDarkly(String sdkKey) {
        return new LaunchDarkly(sdkKey, LaunchDarklyEndpoints.defaults());
    }

    /** LaunchDarkly through a Relay Proxy at {@code relayUri}. */
    static FlagSource launchDarkly(String sdkKey, URI relayUri) {
        return new LaunchDarkly(sdkKey, LaunchDarklyEndpoints.relayProxy(relayUri));
    }

    /** LaunchDarkly at the given endpoints (for instance its streaming and events services behind a proxy). */
    static FlagSource launchDarkly(String sdkKey, LaunchDarklyEndpoints endpoints) {
        return new LaunchDarkly(sdkKey, endpoints);
    }

    /** A flags file in LaunchDarkly's file-data format, watched for changes. */
    static FlagSource file(Path path) {
        return new File(path);
    }

    /**
     * An OpenFeature client, over whatever provider the application set for it (flagd, a vendor's, OpenFeature's
     * in-memory provider in tests): the route, kill-switch and shadow flags are read through it, with a job's routing
     * key (else its jid) as the targeting key and {@code kind} ({@code job}), {@code anonymous} (true without a routing
     * key), {@code queue} and {@code class} as attributes; a percentage rollout should bucket by the targeting key.
     * Nothing is sent to LaunchDarkly, and a LaunchDarkly migration flag is read as a plain stage string.
     */
    static FlagSource openFeature(dev.openfeature.sdk.Client client) {
        return new OpenFeature(client);
    }

    /** Any SDK data source (for tests: {@code TestData}, or FileData over a resource). */
    static FlagSource custom(String description, ComponentConfigurer<DataSource> dataSource) {
        return new Custom(description, dataSource);
    }

    /** LaunchDarkly SDK key and where to reach LaunchDarkly. */
    record LaunchDarkly(String sdkKey, LaunchDarklyEndpoints endpoints) implements FlagSource {
        public LaunchDarkly {
            if (sdkKey == null || sdkKey.isBlank()) {
                throw new IllegalArgumentException("LaunchDarkly SDK key is empty: set flags.sdk-key or LD_SDK_KEY");
            }
            Objects.requireNonNull(endpoints, "endpoints");
        }

        @Override
        public String describe() {
            return endpoints.describe();
        }

        /** Not the generated one: that would print the SDK key. */
        @Override
        public String toString() {
            return describe();
        }
    }

    /** A local flags file. */
    record File(Path path) implements FlagSource {
        public File {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public String describe() {
            return "flags file " + path.toAbsolutePath();
        }
    }

    /** An OpenFeature client. */
    record OpenFeature(dev.openfeature.sdk.Client client) implements FlagSource {
        public OpenFeature {
            Objects.requireNonNull(client, "client");
        }

        @Override
        public String describe() {
            String domain =
                    client.getMetadata() == null ? null : client.getMetadata().getDomain();
            return "OpenFeature" + (domain == null || domain.isEmpty() ? "" : " (domain " + domain + ")");
        }
    }

    /** A caller-supplied SDK data source. */
    record Custom(String description, ComponentConfigurer<DataSource> dataSource) implements FlagSource {
        public Custom {
            Objects.requireNonNull(dataSource, "dataSource");
        }

        @Override
        public String describe() {
            return description;
        }
    }
}
