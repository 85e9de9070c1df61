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
 * source. Neither of those sends events.
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
public sealed interface FlagSource permits FlagSource.LaunchDarkly, FlagSource.File, FlagSource.Custom {

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
