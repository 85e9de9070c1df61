package dev.crossfade.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where Sidekiq 8.1.7 on JRuby lives: {@code $SIDEKIQ8_KIT}, else {@code ../shared/sidekiq8} beside the checkout. */
final class Sidekiq8Kit {
    private Sidekiq8Kit() {}

    /** The kit's directory, or null when it is not installed (its rows are then left out of the report). */
    static Path find() {
        String configured = System.getenv("SIDEKIQ8_KIT");
        Path kit = configured != null ? Path.of(configured) : Path.of("..", "shared", "sidekiq8");
        return Files.isExecutable(kit.resolve("bin").resolve("ruby"))
                ? kit.toAbsolutePath().normalize()
                : null;
    }
}
