package dev.crossfade.cli.ramp;

import dev.crossfade.api.execution.ShadowStore;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Redaction;
import dev.crossfade.kafka.PartitionLag;
import dev.crossfade.redis.OutcomeFormat;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives a guarded rollout: raises the Kafka share through {@code ramp.steps}, holding each at least
 * {@code ramp.hold}, and advances only while the {@link Guardrails} hold and the failure test has passed. On a breach
 * it rolls back at once: the hold in Redis first (every router polls it, {@link dev.crossfade.redis.RedisRampHold}), then the kill switch and
 * a 0% route flag in the flags file or through LaunchDarkly's REST API; and it records why. Its state lives in
 * {@link RampStore}, so a driver started again resumes the step where the last one stopped; a lease keeps a second
 * driver out.
 */
public final class Ramp {
    /** How often the guardrails are judged. */
    static final Duration TICK = Duration.ofMillis(250);
    /** The driver's lease: renewed every third of it, so a driver that died frees the ramp this soon. */
    static final Duration LEASE = Duration.ofSeconds(10);

    private static final Logger log = LoggerFactory.getLogger(Ramp.class);
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
            new com.fasterxml.jackson.databind.ObjectMapper();

    /** How a drive ended. */
    public enum End {
        /** Every step passed: Kafka takes the last step's share. */
        DONE,
        /** A guardrail broke: everything went back to Redis. */
        ROLLED_BACK,
        /** Another driver took the lease, or this one was stopped; the ramp stays where it was. */
        STOPPED
    }

    private final RampStore store;
    private final OutcomeWindows windows;
    private final Traffic traffic;
    private final Guardrails guardrails;
    private final Supplier<Duration> kafkaLag;
    private final ShadowStore shadow;
    private final List<Double> steps;
    private final Duration hold;
    private final String token = UUID.randomUUID().toString();
    private final MeterRegistry meters;
    private volatile boolean stop;

    Ramp(
            RampStore store,
            OutcomeWindows windows,
            Traffic traffic,
            Guardrails guardrails,
            Supplier<Duration> kafkaLag,
            ShadowStore shadow,
            List<Double> steps,
            Duration hold,
            MeterRegistry meters) {
        this.store = store;
        this.windows = windows;
        this.traffic = traffic;
        this.guardrails = guardrails;
        this.kafkaLag = kafkaLag;
        this.shadow = shadow;
        this.steps = List.copyOf(steps);
        this.hold = hold;
        this.meters = meters;
        this.gauges = GAUGES.computeIfAbsent(meters, m -> {
            double[] g = {0, -1};
            Gauge.builder("crossfade.ramp.percent", g, v -> v[0])
                    .description("Kafka share the guarded rollout driven here has reached")
                    .register(m);
            Gauge.builder("crossfade.ramp.step", g, v -> v[1])
                    .description("index of the guarded rollout's current step (-1: not driving)")
                    .register(m);
            return g;
        });
    }

    /** Per registry, the gauges' values: a process may drive several ramps in turn (the dashboard), one at a time. */
    private static final Map<MeterRegistry, double[]> GAUGES =
            java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private final double[] gauges;
    /**
     * Redis runs and failures per queue|class over the ramp's finished steps: the failure test's baseline for a class
     * no Redis job of ran in the current step (at 100% none does).
     */
    private final Map<String, long[]> baseline = new java.util.TreeMap<>();

    /** A driver over a node's Redis, Kafka lag, shadow counters and flags, with the node's {@code ramp.*} settings. */
    public static Ramp of(Node node) {
        CrossfadeConfig c = node.config();
        List<Double> steps = new ArrayList<>();
        for (String s : c.list("ramp.steps")) {
            steps.add(Double.parseDouble(s.trim().replace("%", "")));
        }
        List<String> queues = List.copyOf(node.configuredQueues());
        Supplier<Duration> lag = () -> {
            Duration worst = Duration.ZERO;
            for (String q : queues) {
                for (PartitionLag p : node.kafka().admin().lag(q)) {
                    if (p.timeLag() != null && p.timeLag().compareTo(worst) > 0) {
                        worst = p.timeLag();
                    }
                }
            }
            return worst;
        };
        return new Ramp(
                node.rampStore(),
                // The backend's prefix, as the tallies write under (the namespace with its ':').
                new OutcomeWindows(node.redis().redis(), node.redis().key("")),
                traffic(node),
                Guardrails.from(c),
                lag,
                node.redis().shadowStore(c.duration("workers.run-once-memory")),
                steps,
                c.duration("ramp.hold"),
                node.meters());
    }

    /** Where this configuration's ramp moves traffic; under LaunchDarkly it needs {@code flags.api-token}. */
    static Traffic traffic(Node node) {
        CrossfadeConfig c = node.config();
        if (node.flagsFile() != null) {
            return Traffic.file(node.flagsFile());
        }
        if (!c.isSet("flags.api-token")) {
            throw new ConfigException(
                    "flags.api-token",
                    "is needed to ramp flags that come from LaunchDarkly: set a REST API access token that may "
                            + "change flags '" + c.string("flags.route-flag") + "' and '"
                            + c.string("flags.kill-switch-flag") + "' (or ramp with `crossfade rollout` by hand)");
        }
        return Traffic.launchDarkly(
                new LaunchDarklyApi(
                        c.uri("flags.api-uri"),
                        c.string("flags.api-token"),
                        c.string("flags.project"),
                        c.string("flags.environment")),
                c.string("flags.route-flag"),
                c.string("flags.kill-switch-flag"));
    }

    /** Thrown when another driver holds the ramp, or the last ramp rolled back and was not cleared. */
    public static final class Refused extends RuntimeException {
        Refused(String message) {
            super(message);
        }
    }

    /** Asks a running {@link #drive()} to return (the ramp stays where it is, to be resumed). */
    public void stop() {
        stop = true;
    }

    /**
     * Starts a ramp, or resumes the one in Redis, and drives it until it is done, rolls back or is stopped.
     *
     * @throws Refused when another driver holds the lease, or a rolled-back ramp was not cleared
     */
    public End drive() throws InterruptedException {
        if (!store.acquire(token, LEASE)) {
            throw new Refused("another driver is running this ramp (its lease renews every "
                    + LEASE.dividedBy(3).toSeconds() + "s; it frees " + LEASE.toSeconds()
                    + "s after that driver stops)");
        }
        try {
            return driveHolding();
        } finally {
            store.release(token);
            gauges[1] = -1;
        }
    }

    private End driveHolding() throws InterruptedException {
        Map<String, String> s = store.state();
        String status = s.get("status");
        if ("rolled-back".equals(status)) {
            throw new Refused("the last ramp rolled back (" + store.holdReason()
                    + "); see `crossfade status`, then `crossfade ramp --clear` before ramping again");
        }
        int at;
        long stepStarted;
        if ("running".equals(status) && s.get("steps").equals(join(steps))) {
            at = Integer.parseInt(s.get("step"));
            stepStarted = Long.parseLong(s.get("stepStartedMs"));
            loadBaseline(s.get("baseline"));
            decide("resume", at, null, "resumed by a new driver; step held since " + stepStarted, null);
            apply(at);
        } else {
            at = 0;
            stepStarted = System.currentTimeMillis();
            Map<String, String> plan = new LinkedHashMap<>();
            plan.put("steps", join(steps));
            plan.put("holdMs", Long.toString(hold.toMillis()));
            plan.put("startedMs", Long.toString(stepStarted));
            plan.put("status", "running");
            plan.put("baseline", "{}");
            save(plan);
            apply(0);
            saveStep(0, stepStarted);
            decide(
                    "start",
                    0,
                    null,
                    "ramp " + join(steps) + "% with " + hold.toSeconds() + "s holds, through " + traffic.describe(),
                    null);
        }
        long[] shadowBase = shadowCounts();
        long lastRenew = System.currentTimeMillis();
        Thread lagReader = startLagReader();
        try {
            return loop(at, stepStarted, shadowBase, lastRenew);
        } finally {
            lagReader.interrupt();
        }
    }

    /** The newest Kafka lag read, and when (ms); read on a thread of its own so a slow broker never delays a rollback. */
    private volatile Duration lastLag;

    private volatile long lastLagAtMs;

    /** A lag older than this is not judged: the broker's admin calls are stuck, which other guardrails will see. */
    static final Duration LAG_STALE = Duration.ofSeconds(10);

    private Thread startLagReader() {
        lastLag = null;
        Thread t = new Thread(
                () -> {
                    while (!Thread.currentThread().isInterrupted()) {
                        try {
                            Duration d = kafkaLag.get();
                            lastLag = d;
                            lastLagAtMs = System.currentTimeMillis();
                        } catch (RuntimeException e) {
                            log.debug("cannot read Kafka lag: {}", e.toString());
                        }
                        try {
                            Thread.sleep(TICK.toMillis());
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "crossfade-ramp-lag");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private End loop(int at, long stepStarted, long[] shadowBase, long lastRenew) throws InterruptedException {
        while (!stop) {
            long now = System.currentTimeMillis();
            if (now - lastRenew >= LEASE.toMillis() / 3) {
                if (!store.renew(token, LEASE)) {
                    decide("stop", at, null, "lost the lease: another driver has the ramp", null);
                    return End.STOPPED;
                }
                lastRenew = now;
            }
            Guardrails.Judgement j = judge(stepStarted, now, shadowBase);
            if (log.isDebugEnabled()) {
                log.debug("ramp step {} judged: breach {}, healthy {}: {}", at, j.breach(), j.healthy(), j.figures());
            }
            if (j.breach() != null) {
                rollBack(at, j);
                return End.ROLLED_BACK;
            }
            if (j.healthy() && now - stepStarted >= hold.toMillis()) {
                if (at == steps.size() - 1) {
                    save(Map.of("status", "done"));
                    decide("done", at, null, "every step held: Kafka takes " + fmt(steps.get(at)) + "%", j.figures());
                    return End.DONE;
                }
                foldIntoBaseline(stepStarted, now);
                at++;
                apply(at);
                stepStarted = System.currentTimeMillis();
                shadowBase = shadowCounts();
                saveStep(at, stepStarted);
                decide(
                        "advance",
                        at,
                        null,
                        "step " + (at) + " held and passed: Kafka " + fmt(steps.get(at - 1)) + "% -> "
                                + fmt(steps.get(at)) + "%",
                        j.figures());
            }
            Thread.sleep(TICK.toMillis());
        }
        decide("stop", at, null, "driver stopped; resume with `crossfade ramp`", null);
        return End.STOPPED;
    }

    private Guardrails.Judgement judge(long stepStartedMs, long nowMs, long[] shadowBase) {
        OutcomeWindows.Figures f = withBaseline(windows.read(stepStartedMs / 1000, nowMs / 1000));
        Duration lag = System.currentTimeMillis() - lastLagAtMs > LAG_STALE.toMillis() ? null : lastLag;
        long[] sh = shadowCounts();
        long mismatched = sh[1] - shadowBase[1];
        return guardrails.judge(f, new Guardrails.Live(lag, sh[0] - shadowBase[0] + mismatched, mismatched));
    }

    /** The step's figures, with the earlier steps' Redis runs for classes that had none in this step. */
    private OutcomeWindows.Figures withBaseline(OutcomeWindows.Figures f) {
        if (baseline.isEmpty()) {
            return f;
        }
        Map<String, long[]> strata = new java.util.TreeMap<>();
        f.strata().forEach((k, v) -> {
            long[] b = baseline.get(k);
            strata.put(k, v[2] == 0 && b != null ? new long[] {v[0], v[1], b[0], b[1]} : v);
        });
        return new OutcomeWindows.Figures(strata, f.kafkaLatency(), f.redisLatency(), f.chosenKafka(), f.fellBack());
    }

    private void foldIntoBaseline(long stepStartedMs, long nowMs) {
        windows.read(stepStartedMs / 1000, nowMs / 1000).strata().forEach((k, v) -> {
            if (v[2] > 0 && (baseline.containsKey(k) || baseline.size() < OutcomeFormat.MAX_KEYS)) {
                long[] b = baseline.computeIfAbsent(k, x -> new long[2]);
                b[0] += v[2];
                b[1] += v[3];
            }
        });
        try {
            save(Map.of("baseline", JSON.writeValueAsString(baseline)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void loadBaseline(String json) {
        if (json == null) {
            return;
        }
        try {
            Map<String, long[]> m =
                    JSON.readValue(json, new com.fasterxml.jackson.core.type.TypeReference<Map<String, long[]>>() {});
            baseline.putAll(m);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            log.warn("ignoring an unreadable failure baseline in the ramp's state: {}", e.getOriginalMessage());
        }
    }

    private void rollBack(int at, Guardrails.Judgement j) {
        long decided = System.currentTimeMillis();
        String why = j.breach() + " at " + fmt(steps.get(at)) + "% Kafka";
        // Redis first: every router reads it within a tenth of a second, whatever the flags do next.
        store.hold(why);
        String flagsNote = "";
        try {
            traffic.rollBack();
        } catch (IOException | RuntimeException e) {
            flagsNote = "; routers are held on Redis, but the flags could not be changed ("
                    + Redaction.redact(String.valueOf(e.getMessage())) + "): set the kill switch by hand";
            log.error("rollback could not change {}: {}", traffic.describe(), Redaction.redact(e.toString()));
        }
        gauges[0] = 0;
        save(Map.of("status", "rolled-back", "rolledBackMs", Long.toString(decided)));
        Map<String, Object> d = decide(
                "rollback",
                at,
                j.breach(),
                "guardrail " + j.breach() + " broke at " + fmt(steps.get(at)) + "% Kafka: everything back to Redis"
                        + flagsNote,
                j.figures());
        log.error("ramp rolled back: {} ({})", d.get("message"), j.figures());
    }

    private void apply(int at) {
        try {
            traffic.setKafkaPercent(steps.get(at));
        } catch (IOException e) {
            throw new IllegalStateException(
                    "cannot set the Kafka share through " + traffic.describe() + ": " + e.getMessage(), e);
        }
        gauges[0] = steps.get(at);
        gauges[1] = at;
    }

    private void saveStep(int at, long startedMs) {
        save(Map.of(
                "step",
                Integer.toString(at),
                "stepStartedMs",
                Long.toString(startedMs),
                "percent",
                fmt(steps.get(at))));
    }

    private void save(Map<String, String> fields) {
        if (!store.save(token, fields)) {
            stop = true;
            log.warn("lost the ramp's lease: another driver has it; stopping");
        }
    }

    private Map<String, Object> decide(String kind, int at, String guardrail, String message, String figures) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("atMs", System.currentTimeMillis());
        d.put("kind", kind);
        d.put("step", at);
        d.put("percent", at < 0 ? 0 : steps.get(at));
        if (guardrail != null) {
            d.put("guardrail", guardrail);
        }
        d.put("message", message);
        if (figures != null) {
            d.put("figures", figures);
        }
        store.record(d);
        Counter.builder("crossfade.ramp.decisions")
                .tag("kind", kind)
                .tag("guardrail", guardrail == null ? "none" : guardrail)
                .description("guarded rollout decisions: start, resume, advance, done, rollback, stop")
                .register(meters)
                .increment();
        log.info("ramp {}: {}{}", kind, message, figures == null ? "" : " (" + figures + ")");
        return d;
    }

    private long[] shadowCounts() {
        try {
            Map<String, Long> c = shadow.counters();
            return new long[] {c.getOrDefault("matched", 0L), c.getOrDefault("mismatched", 0L)};
        } catch (RuntimeException e) {
            return new long[] {0, 0};
        }
    }

    /** Clears a rollback: routers follow the flags again, with the kill switch off and the route flag at 0%. */
    public static void clear(Node node) throws IOException {
        RampStore store = node.rampStore();
        Map<String, String> s = store.state();
        String note = "kill switch off";
        try {
            traffic(node).clear();
        } catch (ConfigException noToken) {
            note = "turn the kill switch off in LaunchDarkly yourself (no flags.api-token)";
        }
        store.clearHold();
        if ("rolled-back".equals(s.get("status")) || "done".equals(s.get("status"))) {
            store.forget();
        }
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("atMs", System.currentTimeMillis());
        d.put("kind", "clear");
        d.put("message", "hold cleared: " + note + "; routers follow the flags again");
        store.record(d);
    }

    private static String join(List<Double> steps) {
        List<String> out = new ArrayList<>();
        steps.forEach(s -> out.add(fmt(s)));
        return String.join(",", out);
    }

    static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.format(Locale.ROOT, "%s", d);
    }
}
