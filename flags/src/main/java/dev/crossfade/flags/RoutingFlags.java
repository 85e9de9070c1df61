package dev.crossfade.flags;

import com.launchdarkly.sdk.ContextBuilder;
import com.launchdarkly.sdk.ContextKind;
import com.launchdarkly.sdk.EvaluationDetail;
import com.launchdarkly.sdk.EvaluationReason;
import com.launchdarkly.sdk.LDContext;
import com.launchdarkly.sdk.LDValue;
import com.launchdarkly.sdk.server.Components;
import com.launchdarkly.sdk.server.LDClient;
import com.launchdarkly.sdk.server.LDConfig;
import com.launchdarkly.sdk.server.MigrationOp;
import com.launchdarkly.sdk.server.MigrationStage;
import com.launchdarkly.sdk.server.MigrationVariation;
import com.launchdarkly.sdk.server.integrations.EventProcessorBuilder;
import com.launchdarkly.sdk.server.integrations.FileData;
import com.launchdarkly.sdk.server.interfaces.DataSourceStatusProvider;
import com.launchdarkly.sdk.server.interfaces.LDClientInterface;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.flags.internal.OpenFeatureClient;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The routing view over the LaunchDarkly SDK: for each job, evaluates a context of kind {@code job} (key: the job's
 * routing key, else its jid in an anonymous context; attributes {@code queue} and {@code class}) against the route,
 * kill-switch and shadow flags, or a migration flag, and returns a {@link RouteDecision}. When the SDK client is started
 * here, a flag that serves the same variation to every job (off, or on with one variation for all) is evaluated once
 * and remembered until it changes, and LaunchDarkly's evaluation counts still include every decision
 * ({@link FlagMemory}, {@link DecisionEvents}).
 *
 * <p>Events sent to LaunchDarkly stay affordable and true: every decision is counted, a job with a routing key is
 * indexed as its own context (the SDK's context-key cache sends it once per flush of that cache), and jobs without one
 * are not indexed, never per jid. Evaluations made only to look at the flags (shares, the flip log) are not counted.
 *
 * <p>Never fails an enqueue: when flags are missing, invalid or unavailable the decision is the safe default (Redis,
 * no shadow), said once in the log per cause and visible in the {@code crossfade.flags.healthy} gauge. Flag changes
 * apply at once, without restart, and each is logged.
 */
public final class RoutingFlags implements AutoCloseable {
    /** Context kind every job is evaluated as. */
    public static final ContextKind JOB_KIND = ContextKind.of("job");
    /** At most this many queues, and classes per queue, have a cached context template. */
    private static final int MAX_TEMPLATES = 1_000;

    private static final Logger log = LoggerFactory.getLogger(RoutingFlags.class);
    /** A fixed context used only to log flips of non-rollout values (kill switch, migration default), quietly. */
    private static final LDContext PROBE =
            LDContext.builder(JOB_KIND, "crossfade-flag-probe").anonymous(true).build();

    /** The LaunchDarkly SDK client, or an OpenFeature client seen through its interface. */
    private final LDClientInterface client;

    private final boolean ownsClient;
    private final FlagsConfig config;
    private final Set<String> warned = ConcurrentHashMap.newKeySet();
    /** Per queue and class, a context holding their attributes; see {@link #contextFor}. */
    private final Map<String, Map<String, LDContext>> templates = new ConcurrentHashMap<>();
    /**
     * Evaluations that hold for every job (off flags, flags serving one variation), until their flag changes; null for
     * an application's own client, whose events cannot count what the memory serves.
     */
    private final FlagMemory memory;
    /** Records what the memory serves; null with {@link #memory}. */
    private final DecisionEvents events;
    /** The last value the flip log saw of the kill switch and migration flag. */
    private final Map<String, LDValue> probed = new HashMap<>(); // guarded by itself

    private final Map<RouteDecision.Reason, Map<Backend, Counter>> decisions =
            new EnumMap<>(RouteDecision.Reason.class);
    private final Counter errors;
    private volatile boolean healthy;
    /**
     * Whether migration decisions go through {@code migrationVariation} with a tracker: with LaunchDarkly as the
     * source, whose events reach its migration metrics; a file or custom source sends no events.
     */
    private final boolean trackMigrations;
    /** Whether the migration flag's value, as the flip log's probe last read it, is a stage. */
    private volatile boolean migrationStageValid = true;

    private volatile LDValue probedMigrationValue = LDValue.ofNull();
    /** Why every job goes to Redis regardless of the flags ({@link #holdOnRedis}), or null. */
    private volatile String hold;
    /** Kafka and shadow shares at the last flag change, so each change is logged as old -> new. */
    private volatile double[] lastShares;

    private RoutingFlags(
            LDClientInterface client,
            boolean ownsClient,
            FlagsConfig config,
            FlagMemory memory,
            DecisionEvents events) {
        this.client = client;
        this.memory = memory;
        this.events = events;
        this.ownsClient = ownsClient;
        this.config = config;
        this.trackMigrations = config.migrationFlag() != null && config.source() instanceof FlagSource.LaunchDarkly;
        MeterRegistry meters = config.meterRegistry();
        for (RouteDecision.Reason r : RouteDecision.Reason.values()) {
            Map<Backend, Counter> byBackend = new EnumMap<>(Backend.class);
            for (Backend b : new Backend[] {Backend.REDIS, Backend.KAFKA}) {
                byBackend.put(
                        b,
                        Counter.builder("crossfade.flags.decisions")
                                .tag("backend", b.id())
                                .tag("reason", r.name().toLowerCase())
                                .description("routing decisions")
                                .register(meters));
            }
            decisions.put(r, byBackend);
        }
        this.errors = Counter.builder("crossfade.flags.errors")
                .description("evaluations that fell back to the safe default")
                .register(meters);
        Gauge.builder("crossfade.flags.healthy", this, f -> f.healthy ? 1 : 0)
                .description("1 when flags are initialised and valid, 0 when routing on the safe default")
                .register(meters);
        this.healthy = client.isInitialized();
        if (!healthy) {
            log.warn(
                    "flags from {} are not available yet: routing every job to Redis with no shadow until they are",
                    config.source().describe());
        } else {
            log.info(
                    "flags from {} ready: route={}, kill switch={}, shadow={}{}",
                    config.source().describe(),
                    config.routeFlag(),
                    config.killSwitchFlag(),
                    config.shadowFlag(),
                    config.migrationFlag() == null ? "" : ", migration=" + config.migrationFlag());
        }
        this.lastShares = sample(1000);
        client.getDataSourceStatusProvider().addStatusListener(this::onStatus);
        probeFlips(null);
        client.getFlagTracker().addFlagChangeListener(e -> {
            if (memory != null) {
                memory.forget();
            }
            probeFlips(e.getKey());
            onFlagChange();
        });
    }

    /**
     * Starts an SDK client for the configured source and waits up to {@code startWait} for flags. Returns even when
     * flags are not available; routing then uses the safe default until they are.
     */
    public static RoutingFlags start(FlagsConfig config) {
        if (config.source() instanceof FlagSource.OpenFeature of) {
            List<String> keys =
                    new ArrayList<>(List.of(config.killSwitchFlag(), config.routeFlag(), config.shadowFlag()));
            if (config.migrationFlag() != null) {
                keys.add(config.migrationFlag());
            }
            // No memory and no events: nothing counts decisions outside the provider, so each flag is evaluated.
            return new RoutingFlags(
                    OpenFeatureClient.start(of.client(), keys, config.startWait()), true, config, null, null);
        }
        DecisionCounts counts = new DecisionCounts();
        FlagMemory memory = new FlagMemory(counts);
        DecisionEvents events = new DecisionEvents(counts);
        LDConfig.Builder ld = new LDConfig.Builder()
                .startWait(config.startWait())
                .dataStore(memory.watching(Components.inMemoryDataStore()));
        String sdkKey;
        FlagSource source = config.source();
        if (source instanceof FlagSource.LaunchDarkly l) {
            sdkKey = l.sdkKey();
            LaunchDarklyEndpoints at = l.endpoints();
            ld.serviceEndpoints(
                            at.isRelayProxy()
                                    ? Components.serviceEndpoints().relayProxy(at.streaming())
                                    : Components.serviceEndpoints()
                                            .streaming(at.streaming())
                                            .polling(at.polling())
                                            .events(at.events()))
                    .dataSource(Components.streamingDataSource())
                    .events(events.around(Components.sendEvents(), EventProcessorBuilder.DEFAULT_FLUSH_INTERVAL));
        } else if (source instanceof FlagSource.File f) {
            sdkKey = "offline-flags-file";
            ld.dataSource(FileData.dataSource().filePaths(f.path()).autoUpdate(true))
                    .events(events.around(Components.noEvents(), null))
                    .diagnosticOptOut(true);
        } else {
            sdkKey = "custom-flag-source";
            ld.dataSource(((FlagSource.Custom) source).dataSource())
                    .events(events.around(Components.noEvents(), null))
                    .diagnosticOptOut(true);
        }
        return new RoutingFlags(new LDClient(sdkKey, ld.build()), true, config, memory, events);
    }

    /**
     * Wraps an SDK client the application already owns (it stays open on {@link #close()}). Every flag is evaluated for
     * each job, so that the client's own events count every decision; and they are as the client is configured: jobs
     * without a routing key are anonymous contexts, which LaunchDarkly does not list, but that client's SDK still sends
     * an index event per jid. Production routing should use {@link #start}.
     */
    public static RoutingFlags wrap(LDClient client, FlagsConfig config) {
        return new RoutingFlags(client, false, config, null, null);
    }

    /**
     * The evaluation context for a job: kind {@code job}, its routing key, else its jid and anonymous (a rollout splits
     * such jobs by jid; LaunchDarkly lists no anonymous context), with attributes {@code queue} and {@code class}.
     */
    public LDContext contextFor(Job job) {
        boolean keyed = job.routingKey() != null;
        // Built from a context per queue and class: it shares their attributes (the SDK copies them only if the
        // customizer adds one), where building them afresh made a map per job, half of a routing decision.
        ContextBuilder b = LDContext.builderFromContext(template(job.queue(), job.className()))
                .key(keyed ? job.routingKey() : job.jid())
                .anonymous(!keyed);
        config.contextCustomizer().accept(job, b);
        return b.build();
    }

    private LDContext template(String queue, String className) {
        Map<String, LDContext> byClass = templates.get(queue);
        LDContext t = byClass == null ? null : byClass.get(className);
        if (t == null) {
            t = LDContext.builder(JOB_KIND, "template")
                    .set("queue", queue)
                    .set("class", className)
                    .build();
            // Queues and classes come from the application's code, so they are few; the bounds are a backstop.
            if (templates.size() < MAX_TEMPLATES) {
                Map<String, LDContext> m = templates.computeIfAbsent(queue, q -> new ConcurrentHashMap<>());
                if (m.size() < MAX_TEMPLATES) {
                    m.putIfAbsent(className, t);
                }
            }
        }
        return t;
    }

    /** Decides where one job goes. Never throws and never blocks on the network. */
    public RouteDecision decide(Job job) {
        RouteDecision d;
        try {
            d = evaluate(new JobContext(job));
        } catch (RuntimeException e) {
            warnOnce("exception", "flag evaluation failed (" + e + "): routing to Redis with no shadow");
            d = RouteDecision.safeDefault();
        }
        decisions.get(d.reason()).get(d.primary()).increment();
        return d;
    }

    private RouteDecision evaluate(JobContext ctx) {
        if (hold != null) {
            return KILL;
        }
        if (!client.isInitialized()) {
            return unhealthy(
                    "not-initialized",
                    "flags from " + config.source().describe()
                            + " are not initialised: routing to Redis with no shadow");
        }
        EvaluationDetail<Boolean> kill = variation(
                ctx,
                config.killSwitchFlag(),
                LDValue.of(false),
                () -> client.boolVariationDetail(config.killSwitchFlag(), ctx.get(), false));
        // No kill-switch flag at all means it is off; any other error is a broken flag and fails safe.
        if (isError(kill) && kill.getReason().getErrorKind() != EvaluationReason.ErrorKind.FLAG_NOT_FOUND) {
            return unhealthy("kill:" + kill.getReason().getErrorKind(), describeError(config.killSwitchFlag(), kill));
        }
        if (Boolean.TRUE.equals(kill.getValue())) {
            markHealthy();
            return KILL;
        }
        if (trackMigrations && ctx.job != null) {
            return migrationDecision(ctx);
        }
        if (config.migrationFlag() != null) {
            // Evaluate as a string so an invalid stage is reported rather than silently mapped.
            EvaluationDetail<String> stage = variation(
                    ctx,
                    config.migrationFlag(),
                    LDValue.of("off"),
                    () -> client.stringVariationDetail(config.migrationFlag(), ctx.get(), "off"));
            if (isError(stage) || !MigrationStage.isStage(stage.getValue())) {
                return unhealthy(
                        "migration:" + stage.getValue(),
                        isError(stage)
                                ? describeError(config.migrationFlag(), stage)
                                : "flag '" + config.migrationFlag() + "' has value '" + stage.getValue()
                                        + "', not a migration stage (off, dualwrite, shadow, live, rampdown, complete)");
            }
            markHealthy();
            return MigrationStageMapping.decide(MigrationStage.of(stage.getValue(), MigrationStage.OFF));
        }
        EvaluationDetail<String> route = variation(
                ctx,
                config.routeFlag(),
                LDValue.of("redis"),
                () -> client.stringVariationDetail(config.routeFlag(), ctx.get(), "redis"));
        if (isError(route)) {
            return unhealthy("route:" + route.getReason().getErrorKind(), describeError(config.routeFlag(), route));
        }
        Backend primary;
        if ("kafka".equals(route.getValue())) {
            primary = Backend.KAFKA;
        } else if ("redis".equals(route.getValue())) {
            primary = Backend.REDIS;
        } else {
            return unhealthy(
                    "route-value:" + route.getValue(),
                    "flag '" + config.routeFlag() + "' has value '" + route.getValue()
                            + "'; expected 'redis' or 'kafka'");
        }
        EvaluationDetail<Boolean> shadow = variation(
                ctx,
                config.shadowFlag(),
                LDValue.of(false),
                () -> client.boolVariationDetail(config.shadowFlag(), ctx.get(), false));
        // A missing shadow flag simply means no shadowing; a wrong type is worth a warning.
        if (isError(shadow) && shadow.getReason().getErrorKind() != EvaluationReason.ErrorKind.FLAG_NOT_FOUND) {
            warnOnce(
                    "shadow:" + shadow.getReason().getErrorKind(),
                    describeError(config.shadowFlag(), shadow) + " (no shadow copies)");
        }
        markHealthy();
        Backend other = primary == Backend.KAFKA ? Backend.REDIS : Backend.KAFKA;
        boolean shadowed = Boolean.TRUE.equals(shadow.getValue()) && !isError(shadow);
        return shadowed
                ? new RouteDecision(primary, other, RouteDecision.Reason.ROUTE_FLAG)
                : (primary == Backend.KAFKA ? KAFKA_ONLY : REDIS_ONLY);
    }

    /**
     * The migration flag's decision the LaunchDarkly way: one {@code migrationVariation} (counted as the decision) whose
     * tracker rides on the decision for the router to fill in and send. The SDK maps a value that is not a stage to
     * {@code off} (Redis, no shadow: what the safe default routes too); the flip log's probe tells the two apart, so
     * broken flags still read as unhealthy.
     */
    private RouteDecision migrationDecision(JobContext ctx) {
        if (!migrationStageValid) {
            return unhealthy(
                    "migration:" + probedMigrationValue,
                    "flag '" + config.migrationFlag() + "' has value "
                            + probedMigrationValue + ", not a migration stage (off, dualwrite, shadow, live, rampdown, "
                            + "complete)");
        }
        MigrationVariation mv = client.migrationVariation(config.migrationFlag(), ctx.get(), MigrationStage.OFF);
        markHealthy();
        RouteDecision d = MigrationStageMapping.decide(mv.getStage());
        return new RouteDecision(
                d.primary(),
                d.shadowTo(),
                d.reason(),
                new MigrationOpTracking(client, mv.getTracker(), MigrationOp.WRITE));
    }

    /**
     * A {@code read} operation of the migration flag for running {@code job}'s two copies (see
     * {@link MigrationOpTracking}), or null when no LaunchDarkly migration flag routes. Evaluates the flag once for
     * the job's context, as LaunchDarkly's own migration reads do.
     */
    public MigrationOpTracking migrationRead(Job job) {
        if (config.migrationFlag() == null || !trackMigrations || !client.isInitialized()) {
            return null;
        }
        try {
            MigrationVariation mv =
                    client.migrationVariation(config.migrationFlag(), contextFor(job), MigrationStage.OFF);
            return new MigrationOpTracking(client, mv.getTracker(), MigrationOp.READ);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * One flag's evaluation, or the remembered one if the flag serves the same to every job ({@link FlagMemory}),
     * counted for LaunchDarkly as the SDK would have counted it. A kill switch at rest, a shadow flag between comparison
     * runs and a route flag at 0% or 100% are such flags: this spares the SDK most of a routing decision, and the job's
     * context altogether when every flag is one of them.
     */
    @SuppressWarnings("unchecked")
    private <T> EvaluationDetail<T> variation(
            JobContext ctx, String flag, LDValue defaultValue, Supplier<EvaluationDetail<T>> evaluation) {
        if (memory == null) {
            return evaluation.get();
        }
        FlagMemory.Remembered known = memory.get(flag);
        if (known != null) {
            if (ctx.job != null) {
                events.recordRemembered(known);
            }
            return (EvaluationDetail<T>) known.detail();
        }
        long changes = memory.changes();
        EvaluationDetail<T> d = evaluation.get();
        memory.offer(flag, d, defaultValue, changes);
        return d;
    }

    /** A job's evaluation context, built on first use; or a sample's, whose evaluations are not decisions. */
    private final class JobContext {
        private final Job job;
        private LDContext ctx;

        JobContext(Job job) {
            this.job = job;
        }

        JobContext(LDContext ctx) {
            this.job = null;
            this.ctx = ctx;
        }

        LDContext get() {
            if (ctx == null) {
                ctx = contextFor(job);
            }
            return ctx;
        }
    }

    private static final RouteDecision KILL = new RouteDecision(Backend.REDIS, null, RouteDecision.Reason.KILL_SWITCH);
    private static final RouteDecision KAFKA_ONLY =
            new RouteDecision(Backend.KAFKA, null, RouteDecision.Reason.ROUTE_FLAG);
    private static final RouteDecision REDIS_ONLY =
            new RouteDecision(Backend.REDIS, null, RouteDecision.Reason.ROUTE_FLAG);

    /** Writes only on a change: a volatile write per decision would cost every enqueuing thread a fence. */
    private void markHealthy() {
        if (!healthy) {
            healthy = true;
        }
    }

    private static boolean isError(EvaluationDetail<?> d) {
        return d.getReason() != null && d.getReason().getKind() == EvaluationReason.Kind.ERROR;
    }

    private static String describeError(String flag, EvaluationDetail<?> d) {
        EvaluationReason.ErrorKind kind = d.getReason().getErrorKind();
        String why = switch (kind) {
            case FLAG_NOT_FOUND -> "does not exist";
            case WRONG_TYPE -> "has a value of the wrong type";
            case MALFORMED_FLAG -> "is malformed";
            case CLIENT_NOT_READY -> "cannot be read: flags are not initialised";
            default -> "cannot be evaluated (" + kind + ")";
        };
        return "flag '" + flag + "' " + why + ": routing to Redis with no shadow";
    }

    private RouteDecision unhealthy(String cause, String message) {
        healthy = false;
        errors.increment();
        warnOnce(cause, message);
        return RouteDecision.safeDefault();
    }

    private void warnOnce(String cause, String message) {
        if (warned.add(cause)) {
            log.warn(message);
        }
    }

    private void onStatus(DataSourceStatusProvider.Status status) {
        if (status.getState() == DataSourceStatusProvider.State.VALID) {
            warned.clear();
            log.info("flags from {} are valid", config.source().describe());
        } else if (status.getLastError() != null) {
            log.warn(
                    "flags from {} are {}: {} (keeping the last good flags, or Redis if there were none)",
                    config.source().describe(),
                    status.getState(),
                    status.getLastError().getMessage());
        }
    }

    private void onFlagChange() {
        double[] now = sample(1000);
        double[] before = lastShares;
        lastShares = now;
        // A reload fires one event per flag; log the split only when it actually moved.
        if (now[0] != before[0] || now[1] != before[1]) {
            // Not the key: a reload fires one event per flag, and the first one is not necessarily the one that moved.
            log.info(
                    "flags changed: Kafka share {}% -> {}%, shadow share {}% -> {}% (over 1000 sample keys)",
                    pct(before[0]), pct(now[0]), pct(before[1]), pct(now[1]));
        }
    }

    private static String pct(double share) {
        return String.format("%.1f", 100 * share);
    }

    /**
     * Estimates the share of jobs the flags currently send to Kafka, by evaluating {@code samples} anonymous sample
     * contexts. Cheap enough for a status page; not for a hot path.
     */
    public double kafkaShare(int samples) {
        return sample(samples)[0];
    }

    /**
     * The flags' state over {@code samples} anonymous sample contexts: the kill switch, and the shares routed to Kafka
     * and shadowed. Under every source alike, so status reads the flags as routing does. Not for a hot path.
     */
    public FlagState state(int samples) {
        double[] s = sample(samples);
        String stage = null;
        if (config.migrationFlag() != null) {
            LDValue v = DecisionEvents.quietly(
                    () -> client.jsonValueVariation(config.migrationFlag(), PROBE, LDValue.ofNull()));
            stage = v.isString() ? v.stringValue() : v.toJsonString();
        }
        return new FlagState(s[2] > 0, s[0], s[1], stage);
    }

    /** Shares of sample keys routed to Kafka, given a shadow copy and stopped by the kill switch; not counted. */
    private double[] sample(int samples) {
        return DecisionEvents.quietly(() -> sampleLoudly(samples));
    }

    private double[] sampleLoudly(int samples) {
        int kafka = 0;
        int shadowed = 0;
        int killed = 0;
        for (int i = 0; i < samples; i++) {
            LDContext ctx = LDContext.builder(JOB_KIND, "crossfade-sample-" + i)
                    .anonymous(true)
                    .build();
            RouteDecision d =
                    client.isInitialized() ? evaluateQuietly(new JobContext(ctx)) : RouteDecision.safeDefault();
            kafka += d.primary() == Backend.KAFKA ? 1 : 0;
            shadowed += d.shadowed() ? 1 : 0;
            killed += d.reason() == RouteDecision.Reason.KILL_SWITCH ? 1 : 0;
        }
        return samples == 0
                ? new double[] {0, 0, 0}
                : new double[] {(double) kafka / samples, (double) shadowed / samples, (double) killed / samples};
    }

    private RouteDecision evaluateQuietly(JobContext ctx) {
        try {
            return evaluate(ctx);
        } catch (RuntimeException e) {
            return RouteDecision.safeDefault();
        }
    }

    /**
     * Logs a flip of the kill switch or migration flag ({@code changed}, or both when null) as seen by a fixed context.
     * Quiet, as the SDK's own value-change listener would not be: its evaluations would be counted as decisions.
     */
    private void probeFlips(String changed) {
        for (String key : new String[] {config.killSwitchFlag(), config.migrationFlag()}) {
            if (key == null || (changed != null && !changed.equals(key))) {
                continue;
            }
            LDValue now = DecisionEvents.quietly(() -> client.jsonValueVariation(key, PROBE, LDValue.ofNull()));
            LDValue before;
            synchronized (probed) {
                before = probed.put(key, now);
            }
            if (changed != null && !now.equals(before)) {
                log.info("flag '{}' flipped: {} -> {}", key, before, now);
            }
            if (key.equals(config.migrationFlag())) {
                probedMigrationValue = now;
                migrationStageValid =
                        !client.isInitialized() || (now.isString() && MigrationStage.isStage(now.stringValue()));
            }
        }
    }

    /**
     * Sends every job to Redis with no shadow copy, as the kill switch does, whatever the flags say, until
     * {@link #releaseHold()}: a guarded rollout's rollback, which must not wait for a flag change to reach this process
     * (or, without an API token, for anyone to make one). Idempotent.
     */
    public void holdOnRedis(String why) {
        String before = hold;
        hold = why == null ? "held" : why;
        if (before == null) {
            log.warn("routing every job to Redis until the hold is cleared: {}", hold);
        }
    }

    /** Ends {@link #holdOnRedis}: the flags decide again. */
    public void releaseHold() {
        if (hold != null) {
            hold = null;
            log.info("hold on Redis cleared: the flags decide again");
        }
    }

    /** Why routing is held on Redis, or null when the flags decide. */
    public String hold() {
        return hold;
    }

    /** Sends LaunchDarkly the events recorded so far without waiting for the flush interval; returns at once. */
    void flushEvents() {
        client.flush();
    }

    /** Whether the last evaluation used valid flags (false means routing on the safe default). */
    public boolean healthy() {
        return healthy && client.isInitialized();
    }

    /** Where flags come from, for status output. */
    public String sourceDescription() {
        return config.source().describe();
    }

    public FlagsConfig config() {
        return config;
    }

    @Override
    public void close() {
        if (ownsClient) {
            try {
                client.close();
            } catch (IOException e) {
                log.debug("closing the LaunchDarkly client: {}", e.toString());
            }
        }
    }
}
