package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.config.Redaction;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks each backend in the background and keeps the last verdict, so {@code /health}, {@code /metrics} and the
 * dashboard answer from memory however the servers behave. Every backend's check runs on a thread of its own; one
 * scheduler thread starts a check each interval unless the last one is still running, and declares a backend DOWN
 * when its check has not answered within the timeout (the check thread may stay stuck in a client call; the next
 * check starts once it returns). The scheduler only ever waits on its clock, so a verdict older than
 * {@link #STALE_AFTER} means the monitor itself is stuck, which liveness reports.
 *
 * <p>Logs one line when a backend becomes unreachable, a reminder while it stays so, and one when it answers again,
 * in place of the clients' own per-connection warnings.
 */
public final class BackendMonitor implements AutoCloseable {
    /** How often each backend is checked. */
    static final Duration INTERVAL = Duration.ofSeconds(1);
    /** A verdict older than this is stale: the monitor has stopped deciding. */
    public static final Duration STALE_AFTER = Duration.ofSeconds(5);
    /** How often a backend that stays unreachable is mentioned again. */
    private static final long REMIND_EVERY_NANOS = TimeUnit.MINUTES.toNanos(5);

    private static final Logger log = LoggerFactory.getLogger(BackendMonitor.class);

    /** UP: the last check answered; DOWN: it failed or did not answer in time; STALE: no verdict lately. */
    public enum Status {
        UP,
        DOWN,
        STALE
    }

    /**
     * What is known of one backend.
     *
     * @param status     UP, DOWN or STALE (STALE only as seen by {@link #states()})
     * @param error      why it is down (redacted), or null
     * @param facts      what the last successful check read; kept while down, so the dashboard shows the last values
     * @param decidedAt  {@link System#nanoTime()} of the verdict
     * @param since      {@link System#nanoTime()} when the status last changed
     */
    public record State(
            Backend backend,
            String address,
            Status status,
            String error,
            Map<String, Object> facts,
            long decidedAt,
            long since) {
        /** Milliseconds since the verdict. */
        public long ageMs() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - decidedAt);
        }

        /** Milliseconds in the current status. */
        public long forMs() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - since);
        }

        public boolean up() {
            return status == Status.UP;
        }
    }

    private final List<Probe> probes = new ArrayList<>();
    private final Duration timeout;
    private final boolean logChanges;
    private final ScheduledExecutorService scheduler;
    private volatile long lastTick = System.nanoTime();

    BackendMonitor(List<BackendCheck> checks, Duration timeout, MeterRegistry meters) {
        this(checks, timeout, meters, true);
    }

    private BackendMonitor(List<BackendCheck> checks, Duration timeout, MeterRegistry meters, boolean logChanges) {
        this.timeout = timeout;
        this.logChanges = logChanges;
        for (BackendCheck c : checks) {
            Probe p = new Probe(c);
            probes.add(p);
            if (meters != null) {
                Gauge.builder("crossfade.backend.up", p, x -> x.state.up() ? 1 : 0)
                        .tag("backend", c.backend().id())
                        .description("1 when the backend's server answered its last check within the timeout")
                        .register(meters);
            }
        }
        this.scheduler = Executors.newSingleThreadScheduledExecutor(daemon("crossfade-health"));
    }

    /** Starts checking; the first checks start at once. */
    void start() {
        scheduler.scheduleWithFixedDelay(this::tick, 0, INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Checks every backend once, each on its own thread, and waits for them up to {@code wait}: for a command that
     * prints and exits. A backend that has not answered by then is DOWN.
     */
    static List<State> checkOnce(List<BackendCheck> checks, Duration wait) {
        // The command prints its own line per unreachable backend.
        BackendMonitor m = new BackendMonitor(checks, wait, null, false);
        try {
            m.probes.forEach(p -> p.begin(System.nanoTime()));
            CompletableFuture.allOf(m.probes.stream().map(p -> p.running).toArray(CompletableFuture[]::new))
                    .get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
            // Those still running are decided below.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        long now = System.nanoTime();
        List<State> out = new ArrayList<>();
        for (Probe p : m.probes) {
            if (p.running != null && !p.running.isDone()) {
                p.decide(Status.DOWN, "no answer within " + wait.toMillis() + " ms", null, now);
            }
            out.add(p.state);
        }
        m.probes.forEach(p -> p.executor.shutdownNow());
        m.scheduler.shutdownNow();
        return out;
    }

    /** The current state of every backend; STALE when the monitor has not decided within {@link #STALE_AFTER}. */
    public List<State> states() {
        List<State> out = new ArrayList<>();
        for (Probe p : probes) {
            State s = p.state;
            if (System.nanoTime() - s.decidedAt() > STALE_AFTER.toNanos()) {
                s = new State(
                        s.backend(),
                        s.address(),
                        Status.STALE,
                        "no verdict for " + s.ageMs() + " ms: the health monitor is stuck",
                        s.facts(),
                        s.decidedAt(),
                        s.since());
            }
            out.add(s);
        }
        return out;
    }

    /** The monitor's scheduler ran lately: the process is not wedged. */
    public boolean live() {
        return System.nanoTime() - lastTick <= STALE_AFTER.toNanos();
    }

    /** Milliseconds since the scheduler last ran. */
    public long tickAgeMs() {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastTick);
    }

    private void tick() {
        long now = System.nanoTime();
        lastTick = now;
        for (Probe p : probes) {
            try {
                p.tick(now);
            } catch (RuntimeException e) {
                log.debug(
                        "health check of {} could not start: {}",
                        p.check.backend().id(),
                        e.toString());
            }
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
        probes.forEach(p -> {
            p.executor.shutdownNow();
            p.check.close();
        });
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** One backend: its check, the thread it runs on, the check in flight and the last verdict. */
    private final class Probe {
        final BackendCheck check;
        final ExecutorService executor;
        volatile State state;
        CompletableFuture<Map<String, Object>> running;
        long startedAt;
        long remindedAt;
        boolean decided;

        Probe(BackendCheck check) {
            this.check = check;
            this.executor = Executors.newSingleThreadExecutor(
                    daemon("crossfade-health-" + check.backend().id()));
            long now = System.nanoTime();
            this.state =
                    new State(check.backend(), check.address(), Status.DOWN, "not checked yet", Map.of(), now, now);
        }

        /** On the scheduler: start a check, or declare the one in flight too slow. */
        synchronized void tick(long now) {
            if (running == null || running.isDone()) {
                begin(now);
            } else if (now - startedAt > timeout.plus(INTERVAL).toNanos()) {
                // A check gets one more interval than its own timeouts, so its own (more telling) error usually wins.
                decide(Status.DOWN, "no answer within " + timeout.toMillis() + " ms", null, now);
            } else {
                // Still within its time: the previous verdict holds, and is current.
                State s = state;
                state = new State(s.backend(), s.address(), s.status(), s.error(), s.facts(), now, s.since());
            }
        }

        synchronized void begin(long now) {
            startedAt = now;
            // The future waited on is the one after the verdict, so whoever sees it done sees the verdict.
            running = CompletableFuture.supplyAsync(check::read, executor).whenComplete((facts, error) -> {
                long at = System.nanoTime();
                if (error == null) {
                    decide(Status.UP, null, facts, at);
                } else {
                    decide(Status.DOWN, cause(error), null, at);
                }
            });
        }

        synchronized void decide(Status status, String error, Map<String, Object> facts, long at) {
            State old = state;
            Map<String, Object> kept = facts != null ? facts : old.facts();
            boolean first = !decided;
            boolean changed = first || old.status() != status;
            decided = true;
            state = new State(old.backend(), old.address(), status, error, kept, at, changed ? at : old.since());
            String name = old.backend().id();
            if (!logChanges) {
                return;
            }
            if (changed && status == Status.DOWN) {
                log.warn("{} unreachable at {}: {}", name, old.address(), error);
                remindedAt = at;
            } else if (changed && status == Status.UP && !first) {
                log.info(
                        "{} reachable again at {} (after {} s)",
                        name,
                        old.address(),
                        TimeUnit.NANOSECONDS.toSeconds(at - old.since()));
            } else if (status == Status.DOWN && at - remindedAt > REMIND_EVERY_NANOS) {
                log.warn(
                        "{} still unreachable at {} after {} min: {}",
                        name,
                        old.address(),
                        TimeUnit.NANOSECONDS.toMinutes(at - old.since()),
                        error);
                remindedAt = at;
            }
        }
    }

    /** The innermost useful message of a failure, on one line, redacted. */
    static String cause(Throwable error) {
        Throwable t = error;
        while ((t instanceof java.util.concurrent.CompletionException
                        || t instanceof java.util.concurrent.ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        String msg = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        if (root != t && root.getMessage() != null && !msg.contains(root.getMessage())) {
            msg += " (" + root.getMessage() + ")";
        }
        return Redaction.redact(msg.lines().findFirst().orElse(msg));
    }

    /** The states as maps, for JSON. */
    static Map<String, Object> describe(State s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", s.status().name());
        m.put("address", Redaction.redact(s.address()));
        m.put("live", s.status() != Status.STALE);
        m.put("ready", s.up());
        if (s.error() != null) {
            m.put("error", s.error());
        }
        m.put("checkedMsAgo", s.ageMs());
        m.put("inStatusForMs", s.forMs());
        return m;
    }
}
