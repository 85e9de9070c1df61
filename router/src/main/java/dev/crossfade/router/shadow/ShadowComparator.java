package dev.crossfade.router.shadow;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.internal.Json;
import dev.crossfade.router.RoutingJobQueue;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Joins the authoritative and shadow runs of each shadowed job by jid and reports whether they agree.
 *
 * <p>Install it as the {@link ExecutionListener} of the execution core that runs both backends (the migration
 * runtime). Each finished run becomes an {@link Observation}; when both sides of a jid are in, they are compared on
 * outcome and on a digest of the worker's recorded result. A side that does not arrive within the grace period is
 * reported missing. Results go to Micrometer ({@code crossfade.shadow.*}), to the log (one line per mismatch) and to
 * {@link #report()}.
 */
public final class ShadowComparator implements ExecutionListener {
    private static final Logger log = LoggerFactory.getLogger(ShadowComparator.class);
    private static final int MAX_EXAMPLES = 20;
    private static final int MAX_SAMPLES = 50_000;

    private final Duration grace;
    private final Clock clock;
    private final MeterRegistry meters;
    private final Map<String, Pair> pending = new HashMap<>();
    private final Map<String, Samples> samples = new TreeMap<>();
    private final Deque<ShadowReport.Mismatch> examples = new ArrayDeque<>();
    private final Map<String, Boolean> seen = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> e) {
            return size() > 200_000;
        }
    };
    private long matched;
    private long mismatched;
    private long deliveredOnly;
    private long missingShadow;
    private long missingPrimary;
    private long duplicates;
    private final Counter matchedCounter;
    private final Counter mismatchedCounter;
    private final Counter missingCounter;
    private final Counter duplicateCounter;

    public ShadowComparator(Duration grace, MeterRegistry meters) {
        this(grace, meters, Clock.systemUTC());
    }

    ShadowComparator(Duration grace, MeterRegistry meters, Clock clock) {
        this.grace = Objects.requireNonNull(grace, "grace");
        this.meters = Objects.requireNonNull(meters, "meters");
        this.clock = clock;
        this.matchedCounter = Counter.builder("crossfade.shadow.matched").register(meters);
        this.mismatchedCounter = Counter.builder("crossfade.shadow.mismatched").register(meters);
        this.missingCounter = Counter.builder("crossfade.shadow.missing").register(meters);
        this.duplicateCounter = Counter.builder("crossfade.shadow.duplicates").register(meters);
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
                ? Observation.OutcomeKind.SUCCEEDED : Observation.OutcomeKind.FAILED;
        String digest = outcome instanceof Outcome.Succeeded s && s.ran() ? digest(s.result()) : null;
        Duration latency = job.enqueuedAt() == null ? null : Duration.between(job.enqueuedAt(), startedAt);
        return new Observation(job.jid(), job.className(), backend,
                job.shadow() ? Observation.Role.SHADOW : Observation.Role.PRIMARY, job.attempt(), latency, d, kind,
                ran, digest, startedAt);
    }

    /** Adds one observation (public for processes that ship observations from elsewhere). */
    public synchronized void record(Observation o) {
        String dupKey = o.jid() + '/' + o.role() + '/' + o.attempt();
        if (seen.put(dupKey, Boolean.TRUE) != null) {
            duplicates++;
            duplicateCounter.increment();
            return;
        }
        sample(o);
        if (o.role() == Observation.Role.PRIMARY && o.attempt() > 1) {
            return; // Retries of the authoritative copy are not compared; its first attempt is.
        }
        Pair p = pending.computeIfAbsent(o.jid(), k -> new Pair(clock.instant()));
        if (o.role() == Observation.Role.PRIMARY) {
            p.primary = o;
        } else {
            p.shadow = o;
        }
        if (p.primary != null && p.shadow != null) {
            pending.remove(o.jid());
            compare(p.primary, p.shadow);
        }
    }

    private void compare(Observation primary, Observation shadow) {
        if (!shadow.ran()) {
            deliveredOnly++;
            matchedCounter.increment();
            return;
        }
        if (primary.outcome() == shadow.outcome() && Objects.equals(primary.digest(), shadow.digest())) {
            matched++;
            matchedCounter.increment();
            return;
        }
        mismatched++;
        mismatchedCounter.increment();
        ShadowReport.Mismatch m = new ShadowReport.Mismatch(primary.jid(), primary.className(),
                primary.backend().id(), primary.outcome().name(), primary.digest(), shadow.backend().id(),
                shadow.outcome().name(), shadow.digest());
        examples.addLast(m);
        if (examples.size() > MAX_EXAMPLES) {
            examples.removeFirst();
        }
        log.warn("shadow mismatch for job {} ({}): {} on {} with result {}, {} on {} with result {}", m.jid(),
                m.className(), m.primaryOutcome(), m.primaryBackend(), m.primaryDigest(), m.shadowOutcome(),
                m.shadowBackend(), m.shadowDigest());
    }

    private void sample(Observation o) {
        samples.computeIfAbsent(o.backend().id() + "/" + o.role().name().toLowerCase(), k -> new Samples()).add(o);
        String tagBackend = o.backend().id();
        String tagRole = o.role().name().toLowerCase();
        if (o.latency() != null) {
            Timer.builder("crossfade.shadow.latency").tag("backend", tagBackend).tag("role", tagRole)
                    .publishPercentiles(0.5, 0.99).register(meters).record(o.latency());
        }
    }

    /** Declares sides missing whose partner is older than the grace period. */
    private void sweep() {
        Instant cutoff = clock.instant().minus(grace);
        for (Iterator<Pair> it = pending.values().iterator(); it.hasNext(); ) {
            Pair p = it.next();
            if (p.since.isBefore(cutoff)) {
                it.remove();
                if (p.shadow == null) {
                    missingShadow++;
                } else {
                    missingPrimary++;
                }
                missingCounter.increment();
            }
        }
    }

    /** The comparison so far; also declares overdue sides missing. */
    public synchronized ShadowReport report() {
        sweep();
        Map<String, ShadowReport.BackendStats> stats = new LinkedHashMap<>();
        samples.forEach((k, s) -> stats.put(k, s.stats()));
        return new ShadowReport(matched, mismatched, deliveredOnly, missingShadow, missingPrimary, duplicates,
                pending.size(), new ArrayList<>(examples), stats);
    }

    /** A short, stable digest of a result's JSON form, so results are compared without being kept. */
    static String digest(Object result) {
        try {
            byte[] json = result == null ? "null".getBytes(StandardCharsets.UTF_8)
                    : Json.mapper().writeValueAsBytes(result);
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

    private static final class Pair {
        final Instant since;
        Observation primary;
        Observation shadow;

        Pair(Instant since) {
            this.since = since;
        }
    }

    /** Bounded latency and duration samples for percentile figures in the JSON report. */
    private static final class Samples {
        private final long[] latencyMicros = new long[MAX_SAMPLES];
        private final long[] durationMicros = new long[MAX_SAMPLES];
        private long count;
        private long errors;
        private int latencies;

        void add(Observation o) {
            int i = (int) (count % MAX_SAMPLES);
            durationMicros[i] = o.duration().toNanos() / 1000;
            if (o.latency() != null) {
                latencyMicros[latencies % MAX_SAMPLES] = o.latency().toNanos() / 1000;
                latencies++;
            }
            count++;
            if (o.outcome() == Observation.OutcomeKind.FAILED) {
                errors++;
            }
        }

        ShadowReport.BackendStats stats() {
            long[] lat = Arrays.copyOf(latencyMicros, Math.min(latencies, MAX_SAMPLES));
            long[] dur = Arrays.copyOf(durationMicros, (int) Math.min(count, MAX_SAMPLES));
            Arrays.sort(lat);
            Arrays.sort(dur);
            return new ShadowReport.BackendStats(count, count == 0 ? 0 : (double) errors / count,
                    pct(lat, 0.5), pct(lat, 0.99), pct(dur, 0.5), pct(dur, 0.99));
        }

        private static double pct(long[] sorted, double p) {
            if (sorted.length == 0) {
                return 0;
            }
            int idx = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
            return sorted[Math.max(0, idx)] / 1000.0;
        }
    }
}
