package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.execution.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;

/**
 * Per-backend job meters for every execution, whichever backend delivered it: processed and failed counts,
 * enqueue-to-start latency and run time, with p50/p99 published for Prometheus and the dashboard.
 */
public final class JobMetrics implements ExecutionListener {
    private final Map<Backend, Counter> processed = new EnumMap<>(Backend.class);
    private final Map<Backend, Counter> failed = new EnumMap<>(Backend.class);
    private final Map<Backend, Timer> latency = new EnumMap<>(Backend.class);
    private final Map<Backend, Timer> duration = new EnumMap<>(Backend.class);

    public JobMetrics(MeterRegistry meters) {
        for (Backend b : new Backend[] {Backend.REDIS, Backend.KAFKA}) {
            processed.put(
                    b,
                    Counter.builder("crossfade.jobs.processed")
                            .tag("backend", b.id())
                            .description("jobs whose run finished, any outcome")
                            .register(meters));
            failed.put(
                    b,
                    Counter.builder("crossfade.jobs.failed")
                            .tag("backend", b.id())
                            .description("runs that failed (retried, dead or discarded)")
                            .register(meters));
            latency.put(
                    b,
                    Timer.builder("crossfade.jobs.latency")
                            .tag("backend", b.id())
                            .description("enqueue-to-start latency")
                            .publishPercentiles(0.5, 0.99)
                            .distributionStatisticExpiry(Duration.ofSeconds(30))
                            .register(meters));
            duration.put(
                    b,
                    Timer.builder("crossfade.jobs.duration")
                            .tag("backend", b.id())
                            .description("worker run time")
                            .publishPercentiles(0.5, 0.99)
                            .register(meters));
        }
    }

    @Override
    public void started(Job job, Backend backend, Instant startedAt) {
        Timer t = latency.get(backend);
        if (t != null && job.enqueuedAt() != null && !job.shadow()) {
            t.record(Duration.between(job.enqueuedAt(), startedAt));
        }
    }

    @Override
    public void finished(Job job, Backend backend, Outcome outcome, Instant startedAt, Duration d) {
        Counter c = processed.get(backend);
        if (c == null || job.shadow()) {
            return;
        }
        c.increment();
        duration.get(backend).record(d);
        if (!(outcome instanceof Outcome.Succeeded)) {
            failed.get(backend).increment();
        }
    }

    public double processed(Backend b) {
        return processed.get(b).count();
    }

    public double failed(Backend b) {
        return failed.get(b).count();
    }

    /** A latency percentile in milliseconds (0.5 or 0.99), over the last half minute. */
    public double latencyMs(Backend b, double percentile) {
        for (var v : latency.get(b).takeSnapshot().percentileValues()) {
            if (v.percentile() == percentile) {
                return v.value(java.util.concurrent.TimeUnit.MILLISECONDS);
            }
        }
        return 0;
    }
}
