package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.cli.http.StatusSource;
import dev.crossfade.cli.ramp.Ramp;
import dev.crossfade.cli.ramp.RampStore;
import dev.crossfade.config.Redaction;
import dev.crossfade.flags.FlagState;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.router.RoutingJobQueue;
import dev.crossfade.router.shadow.ShadowReport;
import io.micrometer.core.instrument.search.Search;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The status of one {@link Node}, shaped for {@code crossfade status}, {@code /health} and the dashboard. Never
 * touches a server on the caller's thread: what Redis and Kafka hold comes from the node's {@link BackendMonitor}
 * (or, for a command, from one round of checks), the rest from memory. Only the backends the node runs on appear.
 */
public final class NodeStatus implements StatusSource {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(NodeStatus.class);
    private final Node node;
    private Map<String, Object> cached;
    private long cachedAt;

    public NodeStatus(Node node) {
        this.node = node;
    }

    /** The dashboard's snapshot from the node's background checks; rebuilt at most once a second. */
    @Override
    public synchronized Map<String, Object> snapshot() {
        if (cached == null || System.currentTimeMillis() - cachedAt > 1000) {
            cached = snapshot(node.monitor().states());
            cachedAt = System.currentTimeMillis();
        }
        return cached;
    }

    /** A snapshot from the given backend states. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> snapshot(List<BackendMonitor.State> states) {
        Map<String, Object> redis = Map.of();
        Map<String, Object> kafka = Map.of();
        Map<String, Object> backends = new LinkedHashMap<>();
        for (BackendMonitor.State st : states) {
            backends.put(st.backend().id(), BackendMonitor.describe(st));
            if (st.backend() == Backend.REDIS) {
                redis = st.facts();
            } else if (st.backend() == Backend.KAFKA) {
                kafka = st.facts();
            }
        }
        Map<String, Object> s = new LinkedHashMap<>();
        s.put("split", split());
        Map<String, Object> router = new LinkedHashMap<>();
        RoutingJobQueue r = node.routerIfStarted();
        router.put("breaker", r == null ? "unused" : r.kafkaBreakerState().name());
        router.put("fallbacks", (long) Search.in(node.meters()).name("crossfade.router.fallbacks").counters().stream()
                .mapToDouble(c -> c.count())
                .sum());
        s.put("router", router);
        s.put("processed", Map.of("redis", (long) node.jobMetrics().processed(Backend.REDIS), "kafka", (long)
                node.jobMetrics().processed(Backend.KAFKA)));
        s.put(
                "latencyP99Ms",
                Map.of(
                        "redis",
                        node.jobMetrics().latencyMs(Backend.REDIS, 0.99),
                        "kafka",
                        node.jobMetrics().latencyMs(Backend.KAFKA, 0.99)));
        Map<String, Object> queues = new LinkedHashMap<>();
        queues.put("redis", redis.getOrDefault("queues", Map.of()));
        queues.put("redisScheduled", redis.get("scheduled"));
        s.put("queues", queues);
        Map<String, Object> failures = new LinkedHashMap<>();
        failures.put("redisRetry", redis.get("retry"));
        failures.put("redisDead", redis.get("dead"));
        failures.put("kafkaDlq", kafka.get("dlq"));
        failures.put("failed", (long)
                (node.jobMetrics().failed(Backend.REDIS) + node.jobMetrics().failed(Backend.KAFKA)));
        s.put("failures", failures);
        s.put("lag", kafka.getOrDefault("lag", List.of()));
        try {
            s.put("unknownClasses", node.unknownClasses().read(node.configuredQueues()));
        } catch (RuntimeException e) {
            s.put("unknownClasses", Map.of());
        }
        try {
            // The comparison is shared through Redis: with Redis down there is none to show, and the rest still is.
            ShadowReport report = node.comparator().report();
            s.put(
                    "shadow",
                    Map.of(
                            "matched",
                            report.matched(),
                            "mismatched",
                            report.mismatched(),
                            "missing",
                            report.missingShadow() + report.missingPrimary(),
                            "duplicates",
                            report.duplicates(),
                            "deliveredOnly",
                            report.deliveredOnly(),
                            "pending",
                            report.pending()));
        } catch (RuntimeException e) {
            s.put("shadow", Map.of("unavailable", String.valueOf(e.getMessage())));
        }
        s.put("backends", backends);
        s.put("ramp", ramp(10));
        return s;
    }

    /**
     * The guarded rollout as Redis holds it, for any process: {@code status} (running, done, rolled-back; absent when
     * none), {@code steps}, {@code percent}, the rollback's {@code hold} and the newest {@code decisions}.
     */
    public Map<String, Object> ramp(int decisions) {
        Map<String, Object> r = new LinkedHashMap<>();
        try {
            RampStore store = node.rampStore();
            Map<String, String> st = store.state();
            if (st.containsKey("status")) {
                r.put("status", st.get("status"));
                r.put("steps", st.get("steps"));
                r.put("percent", st.get("percent"));
                r.put("holdMs", st.get("holdMs"));
            }
            String hold = store.holdReason();
            if (hold != null) {
                r.put("hold", hold);
            }
            r.put("decisions", store.decisions(decisions));
        } catch (RuntimeException e) {
            r.put("unavailable", Redaction.redact(String.valueOf(e.getMessage())));
        }
        return r;
    }

    /** The ramp this process drives from the dashboard, or null. */
    private Ramp driving;

    @Override
    public synchronized void ramp(String action) {
        switch (action) {
            case "start" -> {
                if (driving != null) {
                    throw new IllegalStateException("this process is already driving the ramp");
                }
                Ramp ramp = Ramp.of(node);
                driving = ramp;
                Thread t = new Thread(
                        () -> {
                            try {
                                ramp.drive();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            } catch (RuntimeException e) {
                                log.warn(
                                        "ramp from the dashboard: {}",
                                        Redaction.redact(String.valueOf(e.getMessage())));
                            } finally {
                                synchronized (NodeStatus.this) {
                                    if (driving == ramp) {
                                        driving = null;
                                    }
                                }
                            }
                        },
                        "crossfade-ramp");
                t.setDaemon(true);
                t.start();
            }
            case "stop" -> {
                if (driving == null) {
                    throw new IllegalStateException("this process is not driving the ramp");
                }
                driving.stop();
            }
            case "clear" -> {
                try {
                    Ramp.clear(node);
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
            }
            default -> throw new IllegalArgumentException("unknown ramp action " + action);
        }
        cached = null;
    }

    /** The split as configured: exact from a flags file, estimated over sample keys from LaunchDarkly. */
    public Map<String, Object> split() {
        Map<String, Object> split = new LinkedHashMap<>();
        FlagsFile file = node.flagsFile();
        FlagsFile.Settings set = null;
        if (file != null) {
            try {
                set = file.read();
            } catch (IllegalStateException unreadable) {
                split.put("fileError", Redaction.redact(unreadable.getMessage()));
            }
        }
        if (set != null && node.flags().healthy()) {
            split.put("kafkaPercent", set.killSwitch() ? 0.0 : set.kafkaPercent());
            split.put("killSwitch", set.killSwitch());
            split.put("shadowPercent", set.killSwitch() ? 0.0 : set.shadowPercent());
        } else {
            // LaunchDarkly, or a file the SDK cannot use: say what routing actually does.
            node.flags().decide(dev.crossfade.api.Job.of("crossfade.StatusProbe"));
            FlagState state = node.flags().state(1000);
            split.put("kafkaPercent", Math.round(state.kafkaShare() * 1000) / 10.0);
            split.put("killSwitch", state.killSwitch());
            split.put("shadowPercent", Math.round(state.shadowShare() * 1000) / 10.0);
            if (state.migrationStage() != null) {
                split.put("migrationStage", state.migrationStage());
            }
        }
        split.put("source", Redaction.redact(node.flags().sourceDescription()));
        split.put("flagsHealthy", node.flags().healthy());
        return split;
    }

    /**
     * Health from memory: {@code status} UP when every backend of the node answered its last check in time (ready),
     * {@code live} while the checks themselves keep running; one entry per backend, and its detail under
     * {@code backends}.
     */
    @Override
    public Map<String, Object> health() {
        BackendMonitor monitor = node.monitor();
        List<BackendMonitor.State> states = monitor.states();
        Map<String, Object> h = new LinkedHashMap<>();
        boolean ready = true;
        boolean live = monitor.live();
        Map<String, Object> backends = new LinkedHashMap<>();
        PatientStart kafkaWorkers = node.kafkaWorkers();
        for (BackendMonitor.State st : states) {
            ready &= st.up();
            h.put(st.backend().id(), st.up() ? "UP" : st.status() + ": " + st.error());
            Map<String, Object> b = BackendMonitor.describe(st);
            if (st.backend() == Backend.KAFKA && kafkaWorkers != null) {
                // Workers that cannot start without a person's help make the process dead, not just unready.
                boolean failed = kafkaWorkers.phase() == PatientStart.Phase.FAILED;
                b.put(
                        "workers",
                        kafkaWorkers.phase().name()
                                + (kafkaWorkers.problem() == null ? "" : ": " + kafkaWorkers.problem()));
                b.put("live", !failed && Boolean.TRUE.equals(b.get("live")));
                boolean running = kafkaWorkers.phase() == PatientStart.Phase.RUNNING;
                b.put("ready", running && Boolean.TRUE.equals(b.get("ready")));
                live &= !failed;
                ready &= running;
            }
            backends.put(st.backend().id(), b);
        }
        h.put("flags", node.flags().healthy() ? "UP" : "DEGRADED: routing to Redis");
        h.put("status", ready ? "UP" : "DOWN");
        h.put("live", live);
        h.put("ready", ready);
        h.put("checkedMsAgo", monitor.tickAgeMs());
        h.put("backends", backends);
        return h;
    }

    @Override
    public String shadowReportJson() {
        return node.comparator().report().toJson();
    }

    @Override
    public void changeFlags(Double kafkaPercent, Boolean killSwitch, Double shadowPercent) {
        FlagsFile file = node.flagsFile();
        if (file == null) {
            throw new IllegalStateException("flags come from LaunchDarkly: change them in the LaunchDarkly dashboard");
        }
        if (kafkaPercent != null) {
            file.setKafkaPercent(kafkaPercent);
        }
        if (killSwitch != null) {
            file.setKillSwitch(killSwitch);
        }
        if (shadowPercent != null) {
            file.setShadowPercent(shadowPercent);
        }
        synchronized (this) {
            cached = null;
        }
    }
}
