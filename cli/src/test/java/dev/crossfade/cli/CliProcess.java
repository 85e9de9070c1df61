package dev.crossfade.cli;

import dev.crossfade.devservices.ChildJvm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The {@code crossfade} command as a real child JVM (its own logging, signals and exit code), with stdout and stderr
 * in one file. {@link #close()} stops it and checks that nothing it printed holds a test secret.
 */
final class CliProcess implements AutoCloseable {
    private final ChildJvm process;
    private final Path output;
    private final String what;

    private CliProcess(ChildJvm process, Path output, String what) {
        this.process = process;
        this.output = output;
        this.what = what;
    }

    /** Starts {@code crossfade args...} with {@code env} added to an environment without CROSSFADE_ variables. */
    static CliProcess start(Path dir, Map<String, String> env, String... args) {
        return start(dir, env, List.of(), args);
    }

    /** {@link #start(Path, Map, String...)} with extra JVM options, e.g. {@code -D} log levels. */
    static CliProcess start(Path dir, Map<String, String> env, List<String> jvmOptions, String... args) {
        try {
            Path out = Files.createTempFile(dir, "crossfade-", ".out");
            ChildJvm child = ChildJvm.builder(Main.class)
                    .heap("256m")
                    .quickStart()
                    .jvmOptions(jvmOptions)
                    .args(args)
                    .directory(dir)
                    .envRemoved(k -> k.startsWith("CROSSFADE_") || k.equals("LD_SDK_KEY"))
                    .env(env)
                    .outputTo(out)
                    .start();
            return new CliProcess(child, out, String.join(" ", args));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Everything printed so far. */
    String output() {
        try {
            return Files.readString(output, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Waits until a line matches, or fails with the output. */
    void awaitLine(Predicate<String> line, Duration timeout) throws InterruptedException {
        try {
            process.awaitLine(line, timeout);
        } catch (IllegalStateException e) {
            throw new AssertionError(what + ": " + e.getMessage());
        }
    }

    /** Waits for the exit, or fails. */
    int awaitExit(Duration timeout) {
        if (!process.awaitExit(timeout)) {
            process.process().destroyForcibly();
            throw new AssertionError(what + " still running after " + timeout + ":\n" + output());
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM, a wait for the graceful exit, then the secret check of all it printed. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.terminate();
            if (!process.awaitExit(Duration.ofSeconds(30))) {
                process.kill();
            }
        }
        CliTestSupport.assertNoSecret(what, output());
    }
}
