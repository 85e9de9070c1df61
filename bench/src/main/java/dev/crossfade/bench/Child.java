package dev.crossfade.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a reference tool (Ruby Sidekiq, redis-benchmark, Kafka's perf tools) as a child process with its output in a
 * file, and gives up after a time limit, so a stuck reference cannot hang the run.
 */
final class Child {
    private Child() {}

    /** Starts {@code command}; stdout and stderr go to {@code log}. */
    static Process start(List<String> command, Map<String, String> env, Path dir, Path log) {
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().putAll(env);
        try {
            return pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + command + ": " + e.getMessage(), e);
        }
    }

    /** Runs {@code command} to completion and returns its output; fails on a non-zero exit or the time limit. */
    static String run(List<String> command, Map<String, String> env, Path dir, Duration limit) {
        Path log;
        try {
            log = Files.createTempFile(dir, "child-", ".log");
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Process p = start(command, env, dir, log);
        try {
            if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                stop(p);
                throw new IllegalStateException(command.get(0) + " did not finish within " + limit + ": " + read(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted", e);
        }
        String out = read(log);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited with " + p.exitValue() + ":\n" + out);
        }
        return out;
    }

    /** SIGTERM, then SIGKILL after 10 s. */
    static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static String read(Path log) {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }
}
