package dev.crossfade.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The {@code crossfade} command as a real child JVM (its own logging, signals and exit code), with stdout and stderr
 * in one file. {@link #close()} stops it and checks that nothing it printed holds a test secret.
 */
final class CliProcess implements AutoCloseable {
    private final Process process;
    private final Path output;
    private final String what;

    private CliProcess(Process process, Path output, String what) {
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
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        try {
            Path out = Files.createTempFile(dir, "crossfade-", ".out");
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.to(out.toFile()))
                    .directory(dir.toFile());
            pb.environment().keySet().removeIf(k -> k.startsWith("CROSSFADE_") || k.equals("LD_SDK_KEY"));
            pb.environment().putAll(env);
            return new CliProcess(pb.start(), out, String.join(" ", args));
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
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (output().lines().anyMatch(line)) {
                return;
            }
            if (!process.isAlive()) {
                throw new AssertionError(what + " exited with " + process.exitValue() + ":\n" + output());
            }
            Thread.sleep(100);
        }
        throw new AssertionError(what + ": the line awaited did not come within " + timeout + ":\n" + output());
    }

    /** Waits for the exit, or fails. */
    int awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            process.destroyForcibly();
            throw new AssertionError(what + " still running after " + timeout + ":\n" + output());
        }
        return process.exitValue();
    }

    long pid() {
        return process.pid();
    }

    /** SIGTERM, a wait for the graceful exit, then the secret check of all it printed. */
    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            process.destroy();
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        }
        CliTestSupport.assertNoSecret(what, output());
    }
}
