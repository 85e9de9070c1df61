package dev.crossfade.devservices;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plumbing shared by the local servers: one JVM-wide shutdown hook that kills every child we started (so a test JVM never
 * leaves a broker or a redis-server behind), POSIX signals, free ports, log tails and directory clean-up.
 */
final class Processes {
    private static final Logger LOG = LoggerFactory.getLogger(Processes.class);
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();
    private static final Set<Path> DIRS = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(Processes::reapAll, "crossfade-devservices-reaper"));
    }

    private Processes() {}

    static void track(Process process) {
        LIVE.add(process);
        process.onExit().thenRun(() -> LIVE.remove(process));
    }

    static void trackDirectory(Path dir) {
        DIRS.add(dir);
    }

    static void forgetDirectory(Path dir) {
        DIRS.remove(dir);
    }

    private static void reapAll() {
        for (Process p : List.copyOf(LIVE)) {
            p.destroyForcibly();
        }
        for (Process p : List.copyOf(LIVE)) {
            try {
                p.waitFor(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        for (Path dir : List.copyOf(DIRS)) {
            deleteQuietly(dir);
        }
    }

    /** A loopback port that was free a moment ago (bind to 0, read, close). */
    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find a free loopback port", e);
        }
    }

    /** True if something accepts TCP connections on the port right now. */
    static boolean isListening(String host, int port, Duration timeout) {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), (int) timeout.toMillis());
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** Sends a POSIX signal with kill(1): the JDK can only send TERM and KILL. */
    static void signal(long pid, String signal) {
        try {
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
                    .redirectErrorStream(true)
                    .start();
            String out = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
                throw new DevServiceException("kill -" + signal + " " + pid + " did not return in 10s");
            }
            if (kill.exitValue() != 0) {
                throw new DevServiceException(
                        "kill -" + signal + " " + pid + " failed (exit " + kill.exitValue() + "): " + out);
            }
        } catch (IOException e) {
            throw new DevServiceException("cannot run kill -" + signal + " " + pid, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted while sending SIG" + signal + " to " + pid, e);
        }
    }

    /**
     * Waits until every thread of the process is stopped (Linux: each {@code /proc/<pid>/task/<tid>/stat} in state
     * {@code T}). A SIGSTOP stops each thread only when it next leaves the kernel, so on a busy machine a server can
     * still answer a request after {@code kill} returned. Returns at once where there is no {@code /proc}; logs and
     * returns after {@code timeout}.
     */
    static void awaitStopped(long pid, Duration timeout) {
        Path tasks = Path.of("/proc", Long.toString(pid), "task");
        if (!Files.isDirectory(tasks)) {
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        String running = null;
        do {
            running = firstRunningThread(tasks);
            if (running == null) {
                return;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        } while (System.nanoTime() < deadline);
        LOG.warn("pid {}: thread {} not stopped {} after SIGSTOP", pid, running, timeout);
    }

    /** A thread of the process not stopped (its stat line), or null when all are. */
    private static String firstRunningThread(Path tasks) {
        try (var list = Files.list(tasks)) {
            for (Path task : (Iterable<Path>) list::iterator) {
                String stat;
                try {
                    stat = Files.readString(task.resolve("stat"), StandardCharsets.US_ASCII);
                } catch (IOException e) {
                    continue; // the thread ended
                }
                // "tid (comm) S ...": the name may hold spaces and parentheses, the state follows the last ')'.
                int close = stat.lastIndexOf(')');
                char state = close >= 0 && close + 2 < stat.length() ? stat.charAt(close + 2) : 'T';
                if (state != 'T' && state != 't' && state != 'Z' && state != 'X') {
                    return stat.substring(0, Math.min(stat.length(), close + 3));
                }
            }
            return null;
        } catch (IOException e) {
            return null; // the process ended
        }
    }

    /** Waits for exit; returns false on timeout. Restores the interrupt flag instead of throwing. */
    static boolean awaitExit(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !process.isAlive();
        }
    }

    /** The last lines of a log file, for error messages; never throws. */
    static String tail(Path file, int maxLines) {
        try {
            if (!Files.exists(file)) {
                return "(no " + file.getFileName() + ")";
            }
            Deque<String> lines = new ArrayDeque<>(maxLines);
            try (var reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
                // Lenient decoding is not needed: both servers write ASCII/UTF-8 logs.
                String line;
                while ((line = reader.readLine()) != null) {
                    if (lines.size() == maxLines) {
                        lines.removeFirst();
                    }
                    lines.addLast(line);
                }
            }
            return lines.isEmpty()
                    ? "(" + file.getFileName() + " is empty)"
                    : String.join(System.lineSeparator(), lines);
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + file + ": " + e + ")";
        }
    }

    static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("could not delete {}: {}", dir, e.toString());
        }
    }

    private static void deleteIfExists(Path p) throws IOException {
        try {
            Files.deleteIfExists(p);
        } catch (NoSuchFileException ignored) {
            // a server may still be removing its own files
        }
    }

    /** The java launcher of the running JVM, so the child broker runs on the same JDK. */
    static String currentJava() {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        return Files.isExecutable(java) ? java.toString() : "java";
    }

    /** Finds an executable on PATH, or null. */
    static Path onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return null;
        }
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
