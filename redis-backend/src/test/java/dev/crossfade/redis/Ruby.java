package dev.crossfade.redis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/** Runs the real Ruby Sidekiq scripts under {@code src/test/ruby} against a test Redis. */
final class Ruby {
    static final Path SCRIPTS = Path.of("src", "test", "ruby").toAbsolutePath();
    private static final String INSTALL = "Ruby Sidekiq is required for the Ruby interop tests: "
            + "apt-get install ruby-sidekiq (CI installs it)";

    private Ruby() {
    }

    /** Fails (never skips) when Ruby or the sidekiq gem is missing: interop is a promise, not an option. */
    static void requireSidekiq() {
        try {
            Process p = new ProcessBuilder("ruby", "-e", "require 'sidekiq'; puts Sidekiq::VERSION")
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                fail(INSTALL + ". `ruby -e \"require 'sidekiq'\"` said: " + out);
            }
        } catch (IOException e) {
            fail(INSTALL + ". Cannot run ruby: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }

    /** Runs {@code ruby <script> args...} with REDIS_URL and returns its stdout parsed as JSON. */
    static JsonNode run(URI redis, String script, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ruby", SCRIPTS.resolve(script).toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(SCRIPTS.toFile());
        pb.environment().put("REDIS_URL", redis.toString());
        Path err = Files.createTempFile("ruby-", ".stderr");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("ruby " + script + " failed (exit " + (p.isAlive() ? "timeout" : p.exitValue()) + "):\n" + out
                    + "\n" + Files.readString(err));
        }
        Files.deleteIfExists(err);
        return new ObjectMapper().readTree(out);
    }

    /** Starts {@code sidekiq -r ./worker.rb -q <queue> -c 2} as a child process; its output goes to {@code log}. */
    static Process sidekiq(URI redis, String queue, Path log) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("sidekiq", "-r", "./worker.rb", "-q", queue, "-c", "2")
                .directory(SCRIPTS.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("REDIS_URL", redis.toString());
        pb.environment().put("RUBYOPT", "-W0");
        return pb.start();
    }
}
