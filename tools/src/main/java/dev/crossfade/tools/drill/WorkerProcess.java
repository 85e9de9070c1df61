package dev.crossfade.tools.drill;

import dev.crossfade.cli.Main;
import dev.crossfade.devservices.ChildJvm;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * One {@code crossfade work} child JVM of the drill ({@link ChildJvm}), with its output in its own log file. The drill
 * kills these with real signals: {@link #sigkill()} (a crash), {@link #sigterm(Duration)} (a deploy).
 */
final class WorkerProcess {
    /** The line {@code crossfade work} logs once its workers run. */
    private static final String READY = "working queues";

    private final String name;
    private final ChildJvm jvm;
    private final Path log;

    private WorkerProcess(String name, ChildJvm jvm, Path log) {
        this.name = name;
        this.jvm = jvm;
        this.log = log;
    }

    /** Starts {@code dev.crossfade.cli.Main work -c config --jar jar --http-port 0} on this JVM's classpath. */
    static WorkerProcess start(String name, Path config, Path jar, Path dir, Map<String, String> env) {
        Path log = dir.resolve(name + ".log");
        ChildJvm jvm = ChildJvm.builder(Main.class)
                // Small, quick-starting JVMs: four of them share two cores with the broker and the producer.
                .heap("256m")
                .quickStart()
                .jvmOptions(
                        "-Xss512k",
                        "-Dorg.slf4j.simpleLogger.showDateTime=true",
                        "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                        "-Dorg.slf4j.simpleLogger.log.org.apache.kafka=warn")
                .args("work", "-c", config.toString(), "--jar", jar.toString(), "--http-port", "0")
                // The YAML names everything; inherited settings would override it (environment wins over the file).
                .envRemoved(k -> k.startsWith("CROSSFADE_") || k.equals("LD_SDK_KEY"))
                .env(env)
                .outputAppendedTo(log)
                .start();
        return new WorkerProcess(name, jvm, log);
    }

    String name() {
        return name;
    }

    long pid() {
        return jvm.pid();
    }

    Path log() {
        return log;
    }

    boolean isAlive() {
        return jvm.isAlive();
    }

    /** Waits until the workers run (the ready line in the log); false if the process dies or the time runs out. */
    boolean awaitReady(Duration timeout) throws InterruptedException {
        try {
            jvm.awaitLine(l -> l.contains(READY), timeout);
            return true;
        } catch (IllegalStateException | java.io.UncheckedIOException e) {
            return false;
        }
    }

    /** SIGKILL, and waits until the process is gone. */
    void sigkill() {
        jvm.kill();
    }

    /** SIGTERM (graceful: running jobs finish, the rest go back), waiting up to {@code timeout}, then SIGKILL. */
    boolean sigterm(Duration timeout) {
        jvm.terminate();
        if (jvm.awaitExit(timeout)) {
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
