package dev.crossfade.tools.drill;

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

/**
 * One {@code crossfade work} child JVM of the drill, with its output in its own log file. The drill kills these with
 * real signals: {@link #sigkill()} (a crash), {@link #sigterm()} (a deploy).
 */
final class WorkerProcess {
    /** The line {@code crossfade work} logs once its workers run. */
    private static final String READY = "working queues";

    private final String name;
    private final Process process;
    private final Path log;

    private WorkerProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    /** Starts {@code java -cp <classpath> dev.crossfade.cli.Main work -c config --jar jar --http-port 0}. */
    static WorkerProcess start(String name, Path config, Path jar, Path dir, Map<String, String> env) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // Small, quick-starting JVMs: four of them share two cores with the broker and the producer.
        cmd.addAll(List.of(
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Xss512k",
                "-Dorg.slf4j.simpleLogger.showDateTime=true",
                "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn",
                "-cp",
                System.getProperty("java.class.path"),
                "dev.crossfade.cli.Main",
                "work",
                "-c",
                config.toString(),
                "--jar",
                jar.toString(),
                "--http-port",
                "0"));
        Path log = dir.resolve(name + ".log");
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        // The YAML names everything; inherited settings would override it (environment wins over the file).
        pb.environment().keySet().removeIf(k -> k.startsWith("CROSSFADE_") || k.equals("LD_SDK_KEY"));
        pb.environment().putAll(env);
        try {
            return new WorkerProcess(name, pb.start(), log);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start worker process " + name, e);
        }
    }

    String name() {
        return name;
    }

    long pid() {
        return process.pid();
    }

    Path log() {
        return log;
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Waits until the workers run (the ready line in the log) or the process dies. */
    boolean awaitReady(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                return false;
            }
            try {
                if (Files.exists(log)
                        && Files.readString(log, StandardCharsets.UTF_8).contains(READY)) {
                    return true;
                }
            } catch (IOException | UncheckedIOException e) {
                // Being written; look again.
            }
            Thread.sleep(100);
        }
        return false;
    }

    /** SIGKILL, and waits until the process is gone. */
    void sigkill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(20, TimeUnit.SECONDS);
    }

    /** SIGTERM (graceful: running jobs finish, the rest go back), waiting up to {@code timeout}, then SIGKILL. */
    boolean sigterm(Duration timeout) throws InterruptedException {
        process.destroy();
        if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return true;
        }
        sigkill();
        return false;
    }

    @Override
    public String toString() {
        return name + "(pid " + pid() + ")";
    }
}
