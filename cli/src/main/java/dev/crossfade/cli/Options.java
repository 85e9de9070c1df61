package dev.crossfade.cli;

import dev.crossfade.cli.config.CrossfadeConfig;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;

/** Options every subcommand takes: where the configuration file is. */
public final class Options {
    @Option(names = {"-c", "--config"}, paramLabel = "FILE",
            description = "YAML configuration file (default: $CROSSFADE_CONFIG, else ./crossfade.yml if present). "
                    + "Environment variables override it; see `crossfade config keys`.")
    Path config;

    /** Loads the configuration, failing with one line naming the key and the fix. */
    public CrossfadeConfig load() {
        Path file = config;
        if (file == null && System.getenv("CROSSFADE_CONFIG") != null) {
            file = Path.of(System.getenv("CROSSFADE_CONFIG"));
        }
        if (file == null && Files.isRegularFile(Path.of("crossfade.yml"))) {
            file = Path.of("crossfade.yml");
        }
        return CrossfadeConfig.load(file, System.getenv());
    }
}
