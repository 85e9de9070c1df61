package dev.crossfade.devservices;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A main class from the current classpath run in a child JVM on the same JDK, for tests and tools that need a real
 * process (its own signals, exit code and crash). Output (stdout and stderr together, unless stderr is inherited) goes
 * to a file or is kept in memory; the child is killed when this JVM exits, if it is still running then.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final Path outputFile;
    private final List<String> lines;
    private final String what;

    private ChildJvm(Process process, Path outputFile, List<String> lines, String what) {
        this.process = process;
        this.outputFile = outputFile;
        this.lines = lines;
        this.what = what;
    }

    /** A child JVM that runs {@code main}. */
    public static Builder builder(Class<?> main) {
        return new Builder(main.getName());
    }

    /** The process, for what this class does not wrap. */
    public Process process() {
        return process;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything printed so far (stdout and stderr, unless stderr is inherited). */
    public String output() {
        if (outputFile == null) {
            return String.join("\n", lines);
        }
        try {
            return Files.readString(outputFile, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits until a printed line matches and returns it; fails with the output if the child exits first or the time
     * runs out.
     */
    public String awaitLine(Predicate<String> line, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            boolean alive = process.isAlive();
            Optional<String> found = output().lines().filter(line).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
            if (!alive) {
                throw new IllegalStateException(
                        what + " exited with " + process.exitValue() + " before the line awaited:\n" + output());
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(
                        what + ": the line awaited did not come within " + timeout + ":\n" + output());
            }
            Thread.sleep(100);
        }
    }

    /** Waits for a line {@code READY} or {@code READY rest}; returns {@code rest} (empty for a bare READY). */
    public String awaitReady(Duration timeout) throws InterruptedException {
        String line = awaitLine(l -> l.equals("READY") || l.startsWith("READY "), timeout);
        return line.length() > 6 ? line.substring(6) : "";
    }

    /** Waits for the exit; returns false on timeout. */
    public boolean awaitExit(Duration timeout) {
        return Processes.awaitExit(process, timeout);
    }

    public int exitValue() {
        return process.exitValue();
    }

    /** Closes the child's stdin: the children here take that as the order to stop gracefully. */
    public void closeStdin() throws IOException {
        process.getOutputStream().close();
    }

    /** SIGTERM (shutdown hooks run). */
    public void terminate() {
        process.destroy();
    }

    /** SIGKILL, and waits until the process is gone: no shutdown hook, no commit, no goodbye. */
    public void kill() {
        process.destroyForcibly();
        Processes.awaitExit(process, Duration.ofSeconds(10));
    }

    /** SIGSTOP: the JVM freezes, as in a long GC pause or a suspended VM, with its connections left open. */
    public void freeze() {
        Processes.signal(process.pid(), "STOP");
    }

    /** SIGCONT after {@link #freeze()}. */
    public void thaw() {
        Processes.signal(process.pid(), "CONT");
    }

    /** Kills the child if it still runs. */
    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }

    /** How to start the child; every setting is optional. */
    public static final class Builder {
        private final String mainClass;
        private final List<String> args = new ArrayList<>();
        private final List<String> jvmOptions = new ArrayList<>();
        private final Map<String, String> env = new LinkedHashMap<>();
        private Predicate<String> envRemoved = name -> false;
        private String heap;
        private Path directory;
        private Path outputFile;
        private boolean appendOutput;
        private boolean inheritStderr;
        private Consumer<String> onLine = line -> {};

        private Builder(String mainClass) {
            this.mainClass = mainClass;
        }

        public Builder args(String... args) {
            this.args.addAll(List.of(args));
            return this;
        }

        public Builder args(List<String> args) {
            this.args.addAll(args);
            return this;
        }

        /** The maximum heap, as for {@code -Xmx} (e.g. {@code 256m}). */
        public Builder heap(String heap) {
            this.heap = Objects.requireNonNull(heap);
            return this;
        }

        public Builder jvmOptions(String... options) {
            this.jvmOptions.addAll(List.of(options));
            return this;
        }

        public Builder jvmOptions(List<String> options) {
            this.jvmOptions.addAll(options);
            return this;
        }

        /** Serial GC and the C1 compiler only: a short-lived child starts sooner and leaves more CPU to the test. */
        public Builder quickStart() {
            return jvmOptions("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
        }

        /** Removes the inherited variables whose names match, before {@link #env(Map)} is added. */
        public Builder envRemoved(Predicate<String> names) {
            this.envRemoved = this.envRemoved.or(names);
            return this;
        }

        public Builder env(Map<String, String> env) {
            this.env.putAll(env);
            return this;
        }

        public Builder directory(Path directory) {
            this.directory = directory;
            return this;
        }

        /** Output to this file (replacing it) instead of memory. */
        public Builder outputTo(Path file) {
            this.outputFile = file;
            this.appendOutput = false;
            return this;
        }

        /** Output appended to this file instead of memory. */
        public Builder outputAppendedTo(Path file) {
            this.outputFile = file;
            this.appendOutput = true;
            return this;
        }

        /** Stderr to this JVM's stderr, so output holds stdout only. */
        public Builder inheritStderr() {
            this.inheritStderr = true;
            return this;
        }

        /** Called with each line as it comes, for output kept in memory. */
        public Builder onLine(Consumer<String> onLine) {
            this.onLine = Objects.requireNonNull(onLine);
            return this;
        }

        public ChildJvm start() {
            List<String> cmd = new ArrayList<>();
            cmd.add(Processes.currentJava());
            if (heap != null) {
                cmd.add("-Xmx" + heap);
            }
            cmd.addAll(jvmOptions);
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(mainClass);
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            if (directory != null) {
                pb.directory(directory.toFile());
            }
            pb.environment().keySet().removeIf(envRemoved);
            pb.environment().putAll(env);
            if (inheritStderr) {
                pb.redirectError(ProcessBuilder.Redirect.INHERIT);
            } else {
                pb.redirectErrorStream(true);
            }
            if (outputFile != null) {
                pb.redirectOutput(
                        appendOutput
                                ? ProcessBuilder.Redirect.appendTo(outputFile.toFile())
                                : ProcessBuilder.Redirect.to(outputFile.toFile()));
            }
            String what = mainClass.substring(mainClass.lastIndexOf('.') + 1) + " " + String.join(" ", args);
            Process process;
            try {
                process = pb.start();
            } catch (IOException e) {
                throw new DevServiceException("cannot start a child JVM for " + what, e);
            }
            Processes.track(process);
            List<String> lines = new CopyOnWriteArrayList<>();
            if (outputFile == null) {
                pump(process, lines, onLine);
            }
            return new ChildJvm(process, outputFile, lines, what.trim());
        }

        private static void pump(Process process, List<String> lines, Consumer<String> onLine) {
            Thread pump = new Thread(
                    () -> {
                        try (BufferedReader r = new BufferedReader(
                                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                            String line;
                            while ((line = r.readLine()) != null) {
                                lines.add(line);
                                onLine.accept(line);
                            }
                        } catch (IOException ignored) {
                            // The child was killed.
                        }
                    },
                    "child-jvm-output-" + process.pid());
            pump.setDaemon(true);
            pump.start();
        }
    }
}
