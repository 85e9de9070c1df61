package dev.crossfade.spring.boot;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.router.MigrationWorkerRuntime;
import dev.crossfade.router.shadow.ShadowComparator;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Runs the workers while the application context runs: one execution core (run-once guard and shadow comparison in
 * Redis, shared by every process) over the configured backends.
 *
 * <p>Its phase is late: it starts after the rest of the application (a web server, say) is up, and stops first.
 * Lifecycle beans all stop before any singleton is destroyed, so the workers have returned their unfinished jobs
 * before the backends' connection pools close. {@link #stop(Runnable)} blocks until the runtime has stopped, even
 * past Spring's per-phase timeout, for the same reason: a job must not be acknowledged over a closed pool.
 */
final class WorkerLifecycle implements SmartLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerLifecycle.class);

    /** Above the web server's phases (Boot's graceful shutdown is DEFAULT_PHASE - 1024): start after it, stop first. */
    static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 512;

    private final RedisBackend redis;
    private final KafkaBackend kafka;
    private final Set<String> queues;
    private final Set<String> backends;
    private final int concurrency;
    private final Duration shutdownTimeout;
    private final ExecutionCore core;
    private WorkerRuntime runtime;

    WorkerLifecycle(
            RedisBackend redis,
            KafkaBackend kafka,
            WorkerRegistry registry,
            CrossfadeConfig config,
            MeterRegistry meters,
            List<ExecutionListener> listeners) {
        this.redis = redis;
        this.kafka = kafka;
        // Checked by CrossfadeConfig: queue names usable on both backends, backends among redis and kafka.
        this.queues = new LinkedHashSet<>(config.list("workers.queues"));
        this.backends = new LinkedHashSet<>(config.list("workers.backends"));
        if (backends.contains("kafka") && kafka == null) {
            throw new IllegalStateException("crossfade.workers.backends names kafka, but there is no KafkaBackend");
        }
        this.concurrency = config.integer("workers.concurrency");
        this.shutdownTimeout = config.duration("workers.shutdown-timeout");
        Duration runOnceMemory = config.duration("workers.run-once-memory");
        // Shared through Redis, so copies run by different worker processes are still paired.
        ShadowComparator comparator =
                new ShadowComparator(Duration.ofSeconds(30), meters, redis.shadowStore(runOnceMemory));
        List<ExecutionListener> all = new ArrayList<>(listeners);
        all.add(0, comparator);
        this.core = ExecutionCore.builder(registry)
                .guard(redis.runGuard(config.duration("workers.run-once-lease"), runOnceMemory))
                .listener(ExecutionListener.all(all.toArray(ExecutionListener[]::new)))
                .build();
        if (registry.classNames().isEmpty()) {
            LOG.warn("Crossfade workers run with no @CrossfadeWorker bean: every job they fetch goes to the dead set");
        }
    }

    @Override
    public synchronized void start() {
        if (runtime != null) {
            return;
        }
        // A stopped runtime cannot start again, so each start builds new ones over the same core.
        List<WorkerRuntime> runtimes = new ArrayList<>();
        if (backends.contains("redis")) {
            runtimes.add(redis.workers(core, queues, concurrency));
        }
        if (backends.contains("kafka")) {
            runtimes.add(new BackgroundStart("kafka", kafka.workers(core, queues, concurrency)));
        }
        WorkerRuntime r = MigrationWorkerRuntime.of(runtimes.toArray(WorkerRuntime[]::new));
        r.start();
        runtime = r;
        LOG.info(
                "Crossfade workers started on {} for queues {} ({} threads per backend; Redis {})",
                backends,
                queues,
                concurrency,
                redis.config().redactedUrl());
    }

    @Override
    public void stop() {
        WorkerRuntime r;
        synchronized (this) {
            r = runtime;
            runtime = null;
        }
        if (r == null) {
            return;
        }
        boolean finished = r.stop(shutdownTimeout);
        if (finished) {
            LOG.info("Crossfade workers stopped; every running job finished");
        } else {
            LOG.warn("Crossfade workers stopped after {}; unfinished jobs went back to their queues", shutdownTimeout);
        }
    }

    @Override
    public void stop(Runnable callback) {
        try {
            stop();
        } finally {
            callback.run();
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return runtime != null;
    }

    @Override
    public int getPhase() {
        return PHASE;
    }
}
