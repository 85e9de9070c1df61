package dev.crossfade.flags;

import com.launchdarkly.sdk.server.subsystems.ComponentConfigurer;
import com.launchdarkly.sdk.server.subsystems.DataSource;

import java.net.URI;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where flag data comes from. Production reads LaunchDarkly (directly or through a Relay Proxy); local runs and the
 * demo read a flags file through the SDK's own FileData source, so editing the file moves traffic without a restart;
 * tests may plug any SDK data source.
 */
public sealed interface FlagSource permits FlagSource.LaunchDarkly, FlagSource.File, FlagSource.Custom {

    /** A short description for logs and {@code crossfade status}; never contains the SDK key. */
    String describe();

    /** LaunchDarkly itself, with an SDK key, optionally through a Relay Proxy. */
    static FlagSource launchDarkly(String sdkKey) {
        return new LaunchDarkly(sdkKey, null);
    }

    /** LaunchDarkly through a Relay Proxy at {@code relayUri}. */
    static FlagSource launchDarkly(String sdkKey, URI relayUri) {
        return new LaunchDarkly(sdkKey, relayUri);
    }

    /** A flags file in LaunchDarkly's file-data format, watched for changes. */
    static FlagSource file(Path path) {
        return new File(path);
    }

    /** Any SDK data source (for tests: {@code TestData}, or FileData over a resource). */
    static FlagSource custom(String description, ComponentConfigurer<DataSource> dataSource) {
        return new Custom(description, dataSource);
    }

    /** LaunchDarkly SDK key and optional Relay Proxy. */
    record LaunchDarkly(String sdkKey, URI relayUri) implements FlagSource {
        public LaunchDarkly {
            if (sdkKey == null || sdkKey.isBlank()) {
                throw new IllegalArgumentException("LaunchDarkly SDK key is empty: set flags.sdk-key or LD_SDK_KEY");
            }
        }

        @Override
        public String describe() {
            return relayUri == null ? "LaunchDarkly" : "LaunchDarkly via Relay Proxy " + relayUri;
        }

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
