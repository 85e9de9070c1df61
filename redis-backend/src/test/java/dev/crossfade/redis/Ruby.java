package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.tck.SidekiqScripts;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs the real Ruby Sidekiq scripts under {@code src/test/ruby} against a test Redis: one-shot scripts with Debian's
 * Sidekiq 6.4, and a long-lived {@link Session} with either {@link Kit}.
 */
final class Ruby {
    /** A Ruby with a Sidekiq: Debian's 6.4 on MRI, or 8.1.7 on JRuby from the sidekiq8 kit. */
    enum Kit {
        SIDEKIQ6,
        SIDEKIQ8;

        /**
         * The sidekiq8 kit: {@code -Dcrossfade.sidekiq8.kit}, else {@code $SIDEKIQ8_KIT}, else {@code ../shared/sidekiq8}
         * beside the checkout (its README says how to get it). Where there is none (a machine without the shared kit)
         * the Sidekiq 8 tests are skipped, naming it; {@code .ci/run} passes the kit whenever the machine has one and
         * fails when it cannot be used, so CI never skips them quietly.
         */
        static Path kit8() {
            String why = SIDEKIQ8.absence();
            Assumptions.assumeTrue(why == null, why);
            return kit8Path();
        }

        /** Why this Sidekiq cannot run here, or null: only the Sidekiq 8 kit may be absent (a skip, not a failure). */
        String absence() {
            if (this == SIDEKIQ6) {
                return null;
            }
            Path kit = kit8Path();
            return Files.isExecutable(kit.resolve("bin").resolve("ruby"))
                            && Files.isExecutable(kit.resolve("bin").resolve("sidekiq"))
                    ? null
                    : "Sidekiq 8 tests skipped: the sidekiq8 kit (Sidekiq 8.1.7 on JRuby) is not at " + kit
                            + "; set SIDEKIQ8_KIT or -Dcrossfade.sidekiq8.kit to its directory";
        }

        private static Path kit8Path() {
            String configured = System.getProperty("crossfade.sidekiq8.kit", System.getenv("SIDEKIQ8_KIT"));
            return configured != null && !configured.isBlank()
                    ? Path.of(configured)
                    : Path.of("..", "..", "shared", "sidekiq8").toAbsolutePath().normalize();
        }

        List<String> ruby() {
            return this == SIDEKIQ6
                    ? List.of("ruby")
                    : List.of(kit8().resolve("bin/ruby").toString());
        }

        List<String> sidekiq() {
            return this == SIDEKIQ6
                    ? List.of("sidekiq")
                    : List.of(kit8().resolve("bin/sidekiq").toString());
        }

        SidekiqVersion version() {
            return this == SIDEKIQ6 ? SidekiqVersion.V6 : SidekiqVersion.V8;
        }
    }

    /**
     * One Ruby process ({@code session.rb}) answering JSON commands line by line, so a test class starts Ruby once
     * (JRuby takes seconds to start).
     */
    static final class Session implements AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Process process;
        private final java.io.BufferedReader out;
        private final java.io.Writer in;
        private final Path err;

        Session(Kit kit, URI redis) throws IOException {
            if (kit == Kit.SIDEKIQ6) {
                requireSidekiq();
            }
            List<String> cmd = new ArrayList<>(kit.ruby());
            cmd.add(SCRIPTS.resolve("session.rb").toString());
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(SCRIPTS.toFile());
            pb.environment().put("REDIS_URL", redis.toString());
            pb.environment().put("RUBYOPT", "-W0");
            err = Files.createTempFile("ruby-session-", ".stderr");
            pb.redirectError(err.toFile());
            process = pb.start();
            out = new java.io.BufferedReader(
                    new java.io.InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            in = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            JsonNode ready = read();
            if (!ready.has("ready")) {
                fail("ruby session did not start: " + ready);
            }
        }

        private JsonNode read() throws IOException {
            String line = out.readLine();
            if (line == null) {
                fail("ruby session ended:\n" + Files.readString(err));
            }
            return JSON.readTree(line);
        }

        /** Sends {@code {"cmd": cmd, key: value...}} and returns the answer; fails the test on a Ruby error. */
        synchronized JsonNode call(String cmd, Object... keyValues) throws IOException {
            com.fasterxml.jackson.databind.node.ObjectNode c =
                    JSON.createObjectNode().put("cmd", cmd);
            for (int i = 0; i < keyValues.length; i += 2) {
                c.set((String) keyValues[i], JSON.valueToTree(keyValues[i + 1]));
            }
            in.write(c + "\n");
            in.flush();
            JsonNode r = read();
            if (r.has("error")) {
                fail("ruby " + cmd + " failed: " + r);
            }
            return r.get("ok");
        }

        @Override
        public void close() throws IOException {
            in.close();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            Files.deleteIfExists(err);
        }
    }

    static final Path SCRIPTS = Path.of("src", "test", "ruby").toAbsolutePath();
    private static final String INSTALL =
            "Ruby Sidekiq is required for the Ruby interop tests: " + "apt-get install ruby-sidekiq (CI installs it)";

    private Ruby() {}

    /** Fails (never skips) when Ruby or the sidekiq gem is missing: interop is a promise, not an option. */
    static void requireSidekiq() {
        try {
            Process p = new ProcessBuilder("ruby", "-e", "require 'sidekiq'; puts Sidekiq::VERSION")
                    .redirectErrorStream(true)
                    .start();
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
        List<String> cmd =
                new ArrayList<>(List.of("ruby", SCRIPTS.resolve(script).toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(SCRIPTS.toFile());
        pb.environment().put("REDIS_URL", redis.toString());
        Path err = Files.createTempFile("ruby-", ".stderr");
        pb.redirectError(err.toFile());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            fail("ruby " + script + " failed (exit " + (p.isAlive() ? "timeout" : p.exitValue()) + "):\n" + out + "\n"
                    + Files.readString(err));
        }
        Files.deleteIfExists(err);
        return new ObjectMapper().readTree(out);
    }

    /** Starts {@code sidekiq -r ./worker.rb -q <queue> -c 2} as a child process; its output goes to {@code log}. */
    static Process sidekiq(URI redis, String queue, Path log) throws IOException {
        return sidekiq(Kit.SIDEKIQ6, redis, queue, log);
    }

    /** Starts the kit's Sidekiq server ({@code -r ./worker.rb -q <queue> -c 2}); its output goes to {@code log}. */
    static Process sidekiq(Kit kit, URI redis, String queue, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(kit.sidekiq());
        cmd.addAll(List.of("-r", "./worker.rb", "-q", queue, "-c", "2"));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(SCRIPTS.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("REDIS_URL", redis.toString());
        pb.environment().put("RUBYOPT", "-W0");
        pb.environment().put("RUBYLIB", SidekiqScripts.rubyLibPath(System.getenv("RUBYLIB")));
        return pb.start();
    }
}
