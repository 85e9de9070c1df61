package dev.crossfade.router.shadow;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.execution.ShadowStore;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins the authoritative and shadow runs of each shadowed job by jid and reports whether they agree.
 *
 * <p>Install it as the {@link ExecutionListener} of the execution core that runs both backends (the migration
 * runtime). Each finished run becomes an {@link Observation}, offered to a {@link ShadowStore}; when both sides of a
 * jid are in, whichever process brought the second compares them on outcome and on a digest of the worker's recorded
 * result. With a shared store ({@code RedisBackend.shadowStore}) the copies may run in different processes, and every
 * process's {@link #report()} reads the same counts; without one, only copies run by this process are paired. A side
 * whose partner does not arrive within the grace period is reported missing. Results go to Micrometer
 * ({@code crossfade.shadow.*}, counted by the process that decided them), to the log (one line per mismatch) and to
 * {@link #report()}.
 */
public final class ShadowComparator implements ExecutionListener {
    /** Numbers keep their exact text, as in job payloads, so equal results compare equal (api's mapper is internal). */
    private static final ObjectMapper JSON = JsonMapper.builder()
            .nodeFactory(JsonNodeFactory.withExactBigDecimals(true))
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .build();

    private static final Logger log = LoggerFactory.getLogger(ShadowComparator.class);
    private static final int MAX_EXAMPLES = 20;
    private static final String PRIMARY = "primary";
    private static final String SHADOW = "shadow";

    private final Duration grace;
    private final Clock clock;
    private final MeterRegistry meters;
    private final ShadowStore store;
    private final Map<String, Samples> samples = new TreeMap<>();
    private final Counter matchedCounter;
    private final Counter mismatchedCounter;
    private final Counter missingCounter;
    private final Counter duplicateCounter;
    private final Counter unrecorded;
    private final AtomicLong lastSweep = new AtomicLong();
    private final AtomicLong lastStoreWarning = new AtomicLong();
    private Compared compared = (primary, shadow, consistent) -> {};

    /** A comparator of the copies this process runs, kept in memory. */
    public ShadowComparator(Duration grace, MeterRegistry meters) {
        this(grace, meters, new LocalShadowStore(), Clock.systemUTC());
    }

    /** A comparator over a shared store, pairing copies whichever process ran them. */
    public ShadowComparator(Duration grace, MeterRegistry meters, ShadowStore store) {
        this(grace, meters, store, Clock.systemUTC());
    }

    /**
     * A comparator over a shared store that also tells {@code compared} of each pair it compares (for instance
     * {@link MigrationReads}, which reports it to LaunchDarkly's migration metrics).
     */
    public ShadowComparator(Duration grace, MeterRegistry meters, ShadowStore store, Compared compared) {
        this(grace, meters, store, Clock.systemUTC());
        this.compared = Objects.requireNonNull(compared, "compared");
    }

    /** Told of each pair of copies compared, by the process that paired them. */
    @FunctionalInterface
    public interface Compared {
        /**
         * @param primary    the authoritative copy's run
         * @param shadow     the shadow copy's run ({@code ran()} false: it only recorded delivery)
         * @param consistent whether the two agree (outcome and result); meaningless when the shadow did not run
         */
        void compared(Observation primary, Observation shadow, boolean consistent);
    }

    ShadowComparator(Duration grace, MeterRegistry meters, Clock clock) {
        this(grace, meters, new LocalShadowStore(), clock);
    }

    ShadowComparator(Duration grace, MeterRegistry meters, ShadowStore store, Clock clock) {
        this.grace = Objects.requireNonNull(grace, "grace");
        this.meters = Objects.requireNonNull(meters, "meters");
        this.store = Objects.requireNonNull(store, "store");
        this.clock = clock;
        this.matchedCounter = Counter.builder("crossfade.shadow.matched").register(meters);
        this.mismatchedCounter = Counter.builder("crossfade.shadow.mismatched").register(meters);
        this.missingCounter = Counter.builder("crossfade.shadow.missing").register(meters);
        this.duplicateCounter = Counter.builder("crossfade.shadow.duplicates").register(meters);
        this.unrecorded = Counter.builder("crossfade.shadow.unrecorded")
                .description("observations the shadow store could not take")
                .register(meters);
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration duration) {
        boolean shadowed = job.extra().containsKey(RoutingJobQueue.SHADOWED_TO);
        if (!job.shadow() && !shadowed) {
            return;
        }
        Observation o = observe(job, backend, outcome, startedAt, duration);
        record(o);
    }

    private static Observation observe(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration d) {
        boolean ran = !(outcome instanceof Outcome.Succeeded s) || s.ran();
        Observation.OutcomeKind kind = outcome instanceof Outcome.Succeeded
                ? Observation.OutcomeKind.SUCCEEDED
                : Observation.OutcomeKind.FAILED;
        String digest = outcome instanceof Outcome.Succeeded s && s.ran() ? digest(s.result()) : null;
        Duration latency = job.enqueuedAt() == null ? null : Duration.between(job.enqueuedAt(), startedAt);
        return new Observation(
                job.jid(),
                job.className(),
                backend,
                job.shadow() ? Observation.Role.SHADOW : Observation.Role.PRIMARY,
                job.attempt(),
                latency,
                d,
                kind,
                ran,
                digest,
                startedAt);
    }

    /** Adds one observation (public for processes that ship observations from elsewhere). Never throws. */
    public void record(Observation o) {
        sample(o);
        if (o.role() == Observation.Role.PRIMARY && o.attempt() > 1) {
            return; // Retries of the authoritative copy are not compared; its first attempt is.
        }
        boolean primary = o.role() == Observation.Role.PRIMARY;
        try {
            ShadowStore.Paired p = store.pair(
                    o.jid(), primary ? PRIMARY : SHADOW, primary ? SHADOW : PRIMARY, toJson(o), clock.instant());
            switch (p.kind()) {
                case DUPLICATE -> {
                    store.count("duplicates", 1);
                    duplicateCounter.increment();
                }
                case PAIRED -> {
                    Observation other = fromJson(p.other());
                    compare(primary ? o : other, primary ? other : o);
                }
                case WAITING -> {}
            }
            sweepAtMostEverySecond();
        } catch (RuntimeException e) {
            unrecorded.increment();
            long now = System.nanoTime();
            long last = lastStoreWarning.get();
            if (now - last > 60_000_000_000L && lastStoreWarning.compareAndSet(last, now)) {
                log.warn(
                        "shadow store unavailable ({}); observations are not compared meanwhile "
                                + "(crossfade.shadow.unrecorded counts them)",
                        e.toString());
            }
        }
    }

    private void compare(Observation primary, Observation shadow) {
        boolean consistent = !shadow.ran()
                || (primary.outcome() == shadow.outcome() && Objects.equals(primary.digest(), shadow.digest()));
        try {
            compared.compared(primary, shadow, consistent);
        } catch (RuntimeException e) {
            log.debug("comparison listener failed: {}", e.toString());
        }
        if (!shadow.ran()) {
            store.count("deliveredOnly", 1);
            matchedCounter.increment();
            return;
        }
        if (consistent) {
            store.count("matched", 1);
            matchedCounter.increment();
            return;
        }
        ShadowReport.Mismatch m = new ShadowReport.Mismatch(
                primary.jid(),
                primary.className(),
                primary.backend().id(),
                primary.outcome().name(),
                primary.digest(),
                shadow.backend().id(),
                shadow.outcome().name(),
                shadow.digest());
        try {
            store.example(JSON.writeValueAsString(m), MAX_EXAMPLES);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        // Counted after the example is stored, so a report that counts a mismatch can also show it.
        store.count("mismatched", 1);
        mismatchedCounter.increment();
        log.warn(
                "shadow mismatch for job {} ({}): {} on {} with result {}, {} on {} with result {}",
                m.jid(),
                m.className(),
                m.primaryOutcome(),
                m.primaryBackend(),
                m.primaryDigest(),
                m.shadowOutcome(),
                m.shadowBackend(),
                m.shadowDigest());
    }

    private void sample(Observation o) {
        synchronized (samples) {
            samples.computeIfAbsent(o.backend().id() + "/" + o.role().name().toLowerCase(), k -> new Samples())
                    .add(o);
        }
        String tagBackend = o.backend().id();
        String tagRole = o.role().name().toLowerCase();
        if (o.latency() != null) {
            Timer.builder("crossfade.shadow.latency")
                    .tag("backend", tagBackend)
                    .tag("role", tagRole)
                    .publishPercentiles(0.5, 0.99)
                    .register(meters)
                    .record(o.latency());
        }
    }

    private void sweepAtMostEverySecond() {
        long now = System.nanoTime();
        long last = lastSweep.get();
        if (now - last >= 1_000_000_000L && lastSweep.compareAndSet(last, now)) {
            sweep();
        }
    }

    /** Declares sides missing whose partner is older than the grace period. */
    private void sweep() {
        Map<String, String> overdue = store.takeOverdue(clock.instant().minus(grace));
        long shadowMissing = overdue.values().stream().filter(PRIMARY::equals).count();
        long primaryMissing = overdue.size() - shadowMissing;
        if (shadowMissing > 0) {
            store.count("missingShadow", shadowMissing);
        }
        if (primaryMissing > 0) {
            store.count("missingPrimary", primaryMissing);
        }
        missingCounter.increment(overdue.size());
    }

    /**
     * The comparison so far, from the store (so with a shared store, every process's); also declares overdue sides
     * missing. Latency and duration figures are this process's.
     */
    public ShadowReport report() {
        sweep();
        Map<String, Long> c = store.counters();
        List<ShadowReport.Mismatch> examples = new ArrayList<>();
        for (String json : store.examples()) {
            try {
                examples.add(JSON.readValue(json, ShadowReport.Mismatch.class));
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                log.debug("unreadable mismatch example: {}", e.toString());
            }
        }
        Map<String, ShadowReport.BackendStats> stats = new LinkedHashMap<>();
        synchronized (samples) {
            samples.forEach((k, s) -> stats.put(k, s.stats()));
        }
        return new ShadowReport(
                c.getOrDefault("matched", 0L),
                c.getOrDefault("mismatched", 0L),
                c.getOrDefault("deliveredOnly", 0L),
                c.getOrDefault("missingShadow", 0L),
                c.getOrDefault("missingPrimary", 0L),
                c.getOrDefault("duplicates", 0L),
                store.pending(),
                examples,
                stats);
    }

    private static String toJson(Observation o) {
        ObjectNode n = JSON.createObjectNode();
        n.put("jid", o.jid());
        n.put("class", o.className());
        n.put("backend", o.backend().id());
        n.put("role", o.role().name());
        n.put("attempt", o.attempt());
        if (o.latency() != null) {
            n.put("latencyNanos", o.latency().toNanos());
        }
        n.put("durationNanos", o.duration().toNanos());
        n.put("outcome", o.outcome().name());
        n.put("ran", o.ran());
        if (o.digest() != null) {
            n.put("digest", o.digest());
        }
        n.put("at", o.at().toEpochMilli());
        return n.toString();
    }

    private static Observation fromJson(String json) {
        try {
            JsonNode n = JSON.readTree(json);
            return new Observation(
                    n.get("jid").asText(),
                    n.get("class").asText(),
                    Backend.parse(n.get("backend").asText()),
                    Observation.Role.valueOf(n.get("role").asText()),
                    n.get("attempt").asInt(),
                    n.has("latencyNanos")
                            ? Duration.ofNanos(n.get("latencyNanos").asLong())
                            : null,
                    Duration.ofNanos(n.get("durationNanos").asLong()),
                    Observation.OutcomeKind.valueOf(n.get("outcome").asText()),
                    n.get("ran").asBoolean(),
                    n.has("digest") ? n.get("digest").asText() : null,
                    Instant.ofEpochMilli(n.get("at").asLong()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("unreadable shadow observation: " + json, e);
        }
    }

    /** A short, stable digest of a result's JSON form, so results are compared without being kept. */
    static String digest(Object result) {
        try {
            byte[] json = result == null ? "null".getBytes(StandardCharsets.UTF_8) : JSON.writeValueAsBytes(result);
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(json);
            StringBuilder sb = new StringBuilder(16);
            for (int i = 0; i < 8; i++) {
                sb.append(String.format("%02x", hash[i]));
            }
            return sb.toString();
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            return "unserializable:" + result.getClass().getName();
        }
    }

    /** Latency and duration histograms for the percentile figures in the JSON report; guarded by {@code samples}. */
    private static final class Samples {
        private final Histogram latencyMicros = new Histogram(3);
        private final Histogram durationMicros = new Histogram(3);
        private long count;
        private long errors;

        void add(Observation o) {
            durationMicros.recordValue(Math.max(0, o.duration().toNanos() / 1000));
            if (o.latency() != null) {
                latencyMicros.recordValue(Math.max(0, o.latency().toNanos() / 1000));
            }
            count++;
            if (o.outcome() == Observation.OutcomeKind.FAILED) {
                errors++;
            }
        }

        ShadowReport.BackendStats stats() {
            return new ShadowReport.BackendStats(
                    count,
                    count == 0 ? 0 : (double) errors / count,
                    millis(latencyMicros, 50),
                    millis(latencyMicros, 99),
                    millis(durationMicros, 50),
                    millis(durationMicros, 99));
        }

        private static double millis(Histogram h, double percentile) {
            if (h.getTotalCount() == 0) {
                return 0;
            }
            // The bucket's lowest value: exact for samples under 2,048 µs, within 0.1% above.
            return h.lowestEquivalentValue(h.getValueAtPercentile(percentile)) / 1000.0;
        }
    }
}
