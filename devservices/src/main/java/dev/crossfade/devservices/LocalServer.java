package dev.crossfade.devservices;

import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link LocalRedis} and {@link LocalKafka} share: one child process owned by this handle, in a temporary
 * directory of its own, that tests can stop, kill, pause and restart, and that {@link #close()} removes with its
 * directory. Subclasses start the process and say how to reach it.
 *
 * @param <S> the concrete type, returned by {@link #restart()}
 */
abstract class LocalServer<S extends LocalServer<S>> implements AutoCloseable {
    /** For messages: "redis-server", "Kafka broker". */
    private final String name;

    private final Duration killTimeout;
    /** Named after the concrete class, so log lines say LocalRedis or LocalKafka. */
    private final Logger log = LoggerFactory.getLogger(getClass());

    protected Path directory;
    protected Process process;
    protected boolean paused;
    private boolean closed;

    LocalServer(String name, Duration killTimeout) {
        this.name = name;
        this.killTimeout = killTimeout;
    }

    /**
     * Starts the process if it is not running and waits until it answers.
     *
     * @return this, for chaining
     */
    public abstract S start();

    /** The process's log file; null before the first start. */
    public abstract Path logFile();

    /** How long a graceful stop may take before SIGKILL. */
    abstract Duration shutdownTimeout();

    /** Where it listens, for log lines. */
    abstract String address();

    /**
     * Graceful shutdown with SIGTERM and a wait for the exit; SIGKILL if the shutdown timeout passes. Resumes a paused
     * process first so it can act on the signal. Idempotent.
     */
    public synchronized void stop() {
        if (process == null || !process.isAlive()) {
            return;
        }
        if (paused) {
            resume();
        }
        long begin = System.nanoTime();
        process.destroy();
        if (!Processes.awaitExit(process, shutdownTimeout())) {
            log.warn("{} pid {} ignored SIGTERM for {}; sending SIGKILL", name, process.pid(), shutdownTimeout());
            kill();
            return;
        }
        log.info(
                "{} at {} stopped in {} ms (exit {})",
                name,
                address(),
                Duration.ofNanos(System.nanoTime() - begin).toMillis(),
                process.exitValue());
    }

    /**
     * SIGKILL, as a crash or an OOM kill would, and a wait until the process is gone. Works on a paused process too.
     * Idempotent.
     */
    public synchronized void kill() {
        if (process == null || !process.isAlive()) {
            return;
        }
        process.destroyForcibly();
        if (!Processes.awaitExit(process, killTimeout)) {
            throw new DevServiceException(name + " pid " + process.pid() + " survived SIGKILL for " + killTimeout);
        }
        paused = false;
        log.info("{} at {} killed", name, address());
    }

    /**
     * Stops the process if it is running (gracefully) and starts it again on the same port(s) and directory, so what
     * it persisted survives and clients keep their address.
     *
     * @return this, for chaining
     */
    public synchronized S restart() {
        ensureOpen();
        if (directory == null) {
            throw new IllegalStateException("restart() before start(): nothing to restart");
        }
        stop();
        return start();
    }

    /**
     * Freezes the process with SIGSTOP: connections stay open but nothing answers, like a long GC pause, a server stuck
     * in a long command, or a network partition. Use it to exercise client timeouts and circuit breakers; undo with
     * {@link #resume()}.
     */
    public synchronized void pause() {
        if (!isRunning()) {
            throw new IllegalStateException("cannot pause: the " + name + " is not running");
        }
        if (!paused) {
            Processes.signal(process.pid(), "STOP");
            paused = true;
            Processes.awaitStopped(process.pid(), Duration.ofSeconds(5));
        }
    }

    /** Undoes {@link #pause()} with SIGCONT. Does nothing if not paused. */
    public synchronized void resume() {
        if (paused && process != null && process.isAlive()) {
            Processes.signal(process.pid(), "CONT");
        }
        paused = false;
    }

    /** Whether the process is alive (a paused one counts as running). */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** Whether the process is frozen by {@link #pause()}. */
    public synchronized boolean isPaused() {
        return paused && isRunning();
    }

    /** The process's directory (data, configuration, logs); null before the first start. */
    public synchronized Path directory() {
        return directory;
    }

    /** The process id while running, for tools outside this API; -1 otherwise. */
    public synchronized long pid() {
        return isRunning() ? process.pid() : -1;
    }

    /** Stops the process (gracefully) and deletes its directory. Idempotent; the instance cannot be started again. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            if (directory != null) {
                Processes.deleteQuietly(directory);
                Processes.forgetDirectory(directory);
            }
        }
    }

    /** ", running", ", paused" or nothing, for toString. */
    synchronized String state() {
        return isRunning() ? (paused ? ", paused" : ", running") : "";
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(getClass().getSimpleName() + " is closed");
        }
    }

    void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DevServiceException("interrupted while waiting for the " + name, e);
        }
    }
}
