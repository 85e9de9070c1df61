package dev.crossfade.cli.runtime;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.config.Redaction;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a runtime whose start needs its server (Kafka's creates topics and sets group configs) without letting a
 * server that is down stop the process: {@link #start()} waits a little for the first attempt, then leaves it to a
 * thread of its own that retries with backoff while the other backend's workers run. An error that retrying cannot
 * cure (a refused setting, say) is thrown by {@link #start()} when it comes first, and otherwise marks the runtime
 * failed, which liveness reports.
 */
final class PatientStart implements WorkerRuntime {
    private static final Logger log = LoggerFactory.getLogger(PatientStart.class);
    private static final long MAX_BACKOFF_MS = 30_000;
    private static final long REMIND_EVERY_NANOS = TimeUnit.MINUTES.toNanos(5);

    /** Where the runtime is. */
    enum Phase {
        STARTING,
        RUNNING,
        FAILED,
        STOPPED
    }

    private final String name;
    private final WorkerRuntime delegate;
    private final Duration firstWait;
    private final Duration shutdownTimeout;
    private final CompletableFuture<Void> firstAttempt = new CompletableFuture<>();
    private volatile Phase phase = Phase.STARTING;
    private volatile String problem;
    private volatile boolean stopping;
    private Thread starter;

    PatientStart(String name, WorkerRuntime delegate, Duration firstWait, Duration shutdownTimeout) {
        this.name = name;
        this.delegate = delegate;
        this.firstWait = firstWait;
        this.shutdownTimeout = shutdownTimeout;
    }

    Phase phase() {
        return phase;
    }

    /** Why it is not running yet, or why it failed; null while running. */
    String problem() {
        return problem;
    }

    @Override
    public void start() {
        synchronized (this) {
            if (starter != null) {
                return;
            }
            starter = new Thread(this::startLoop, "crossfade-" + name + "-start");
            starter.setDaemon(true);
            starter.start();
        }
        // Waited for outside the lock: the starter takes it to record a finished start, so waiting while holding it
        // would hold every start back for the whole first wait.
        try {
            firstAttempt.get(firstWait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException failed) {
            Throwable cause = failed.getCause();
            throw cause instanceof RuntimeException r ? r : new IllegalStateException(cause);
        } catch (TimeoutException stillTrying) {
            log.warn(
                    "{} workers not started after {} s ({}); still trying in the background, the other workers run",
                    name,
                    firstWait.toSeconds(),
                    problem == null ? "the first attempt is still waiting" : problem);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void startLoop() {
        long backoff = 1000;
        long remindedAt = 0;
        int attempts = 0;
        while (!stopping) {
            attempts++;
            try {
                delegate.start();
                synchronized (this) {
                    phase = stopping ? Phase.STOPPED : Phase.RUNNING;
                    problem = null;
                }
                if (attempts > 1) {
                    log.info("{} workers started (attempt {})", name, attempts);
                }
                firstAttempt.complete(null);
                return;
            } catch (RuntimeException e) {
                problem = BackendMonitor.cause(e);
                if (!retriable(e)) {
                    phase = Phase.FAILED;
                    if (firstAttempt.isDone()) {
                        log.error("{} workers cannot start: {}", name, problem);
                    }
                    firstAttempt.completeExceptionally(e);
                    return;
                }
                long now = System.nanoTime();
                if (attempts > 1 && !stopping && now - remindedAt > REMIND_EVERY_NANOS) {
                    log.warn(
                            "{} workers still cannot start ({}); retrying every {} s at most",
                            name,
                            problem,
                            MAX_BACKOFF_MS / 1000);
                    remindedAt = now;
                }
            }
            try {
                Thread.sleep(backoff);
            } catch (InterruptedException e) {
                return;
            }
            backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
    }

    /** Timeouts and connection trouble pass when the server is back; anything else needs a person. */
    private static boolean retriable(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof RetriableException
                    || c instanceof TimeoutException
                    || c instanceof org.apache.kafka.common.errors.TimeoutException
                    || c instanceof InterruptedException) {
                return true;
            }
        }
        return false;
    }

    @Override
    public boolean stop(Duration timeout) {
        Thread t;
        synchronized (this) {
            stopping = true;
            t = starter;
        }
        if (t != null) {
            t.interrupt();
        }
        // A start in progress holds the runtime's lock; stopping it waits for that start, then stops what it started.
        boolean clean = delegate.stop(timeout);
        phase = Phase.STOPPED;
        return clean;
    }

    @Override
    public void close() {
        stop(shutdownTimeout);
    }

    @Override
    public String toString() {
        return name + " workers " + phase + (problem == null ? "" : " (" + Redaction.redact(problem) + ")");
    }
}
