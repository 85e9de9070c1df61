package dev.crossfade.cli;

import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import picocli.CommandLine.Option;

/** Options every subcommand takes: where the configuration file is. */
public final class Options {
    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            description = "YAML configuration file (default: $CROSSFADE_CONFIG, else ./crossfade.yml if present). "
                    + "Environment variables override it; see `crossfade config keys`.")
    Path config;

    /** Where environment variables come from: the process's, or a test's stand-in for an in-process run. */
    static volatile Supplier<Map<String, String>> environment = System::getenv;

    /** Loads the configuration, failing with one line naming the key and the fix. */
    public CrossfadeConfig load() {
        Map<String, String> env = environment.get();
        Path file = config;
        if (file == null && env.get("CROSSFADE_CONFIG") != null) {
            try {
                file = Path.of(env.get("CROSSFADE_CONFIG"));
            } catch (InvalidPathException e) {
                throw new ConfigException("CROSSFADE_CONFIG", "is not a path (" + e.getReason() + ")");
            }
        }
        if (file == null && Files.isRegularFile(Path.of("crossfade.yml"))) {
            file = Path.of("crossfade.yml");
        }
        return CrossfadeConfig.load(file, env);
    }
}
