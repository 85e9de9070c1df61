package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The Ruby Sidekiq servers a mixed fleet is tested with: Debian's Sidekiq 6.4 on MRI, and Sidekiq 8.1.7 on JRuby from
 * the shared sidekiq8 kit (its README; {@code .ci/run} exports {@code SIDEKIQ8_KIT}).
 */
enum RubySidekiq {
    SIDEKIQ6,
    SIDEKIQ8;

    /**
     * The command that starts this Sidekiq's server, after checking it is there: a missing Sidekiq 6 fails the test
     * (CI installs it), a missing sidekiq8 kit skips it with the reason (the kit is shared, not installed: {@code
     * .ci/run} passes it whenever the machine has one, and fails when it cannot be used).
     */
    List<String> server() throws Exception {
        if (this == SIDEKIQ8) {
            Path kit = kit8();
            Assumptions.assumeTrue(
                    Files.isExecutable(kit.resolve("bin").resolve("ruby"))
                            && Files.isExecutable(kit.resolve("bin").resolve("sidekiq")),
                    "Sidekiq 8 case skipped: the sidekiq8 kit (Sidekiq 8.1.7 on JRuby) is not at " + kit
                            + "; set SIDEKIQ8_KIT or -Dcrossfade.sidekiq8.kit to its directory");
            return List.of(kit.resolve("bin").resolve("sidekiq").toString());
        }
        Process p = new ProcessBuilder("ruby", "-e", "require 'sidekiq'; puts Sidekiq::VERSION")
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("Ruby Sidekiq is required: apt-get install ruby-sidekiq (CI installs it). Ruby said: " + out);
        }
        return List.of("sidekiq");
    }

    /**
     * Whether a process's heartbeat ({@code info} in Redis) is this Sidekiq's: Sidekiq 8 names its version there,
     * Sidekiq 6 writes none (Crossfade writes {@code "crossfade"}).
     */
    boolean wroteHeartbeat(String info) {
        return this == SIDEKIQ8 ? info.contains("\"version\":\"8.") : !info.contains("\"version\"");
    }

    /** {@code -Dcrossfade.sidekiq8.kit}, else {@code $SIDEKIQ8_KIT}, else {@code ../shared/sidekiq8} beside the checkout. */
    private static Path kit8() {
        String configured = System.getProperty("crossfade.sidekiq8.kit", System.getenv("SIDEKIQ8_KIT"));
        return configured != null && !configured.isBlank()
                ? Path.of(configured)
                : Path.of("..", "..", "shared", "sidekiq8").toAbsolutePath().normalize();
    }
}
