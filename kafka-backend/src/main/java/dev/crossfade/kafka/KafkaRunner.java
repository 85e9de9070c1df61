package dev.crossfade.kafka;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;

/**
 * The lifecycle both consumer modes share: topics ensured and group configs applied before the first member joins, a
 * pool of worker threads, poll-loop threads, the delay-tier scheduler and the lag monitor; a stop that gives the loops
 * until a deadline to finish, acknowledge or commit what is done, and leave.
 */
abstract class KafkaRunner implements WorkerRuntime {
    final KafkaBackend backend;
    final KafkaBackendConfig config;
    final ExecutionCore core;
    final List<String> queues;
    final int concurrency;
    final String name;
    private final List<Thread> loops = new ArrayList<>();
    ExecutorService pool;
    private final List<DelayScheduler> schedulers = new ArrayList<>();
    volatile boolean running;
    private volatile boolean started;
    /** When a stop must be over; the loops drain until then. 0 while running. */
    volatile long stopDeadlineNanos;
    /** False once a loop had to abandon running jobs at stop. */
    volatile boolean clean = true;

    KafkaRunner(KafkaBackend backend, ExecutionCore core, List<String> queues, int concurrency, String kind) {
        this.backend = backend;
        this.config = backend.config();
        this.core = core;
        this.queues = queues;
        this.concurrency = concurrency;
        this.name = "crossfade-kafka-" + kind + config.groupId() + "-" + KafkaBackend.SEQ.incrementAndGet();
    }

    /** Group configs this mode needs before anyone joins (the configured ones are applied over them). */
    abstract Map<String, String> groupDefaults();

    /** The groups whose configs are set before anyone joins: {@code groupId} (and the runner's own). */
    List<String> groupIds() {
        return List.of(config.groupId());
    }

    /** Creates the consumers and starts their poll loops with {@link #startLoop}. */
    abstract void startLoops();

    final void startLoop(Runnable loop, String suffix) {
        Thread t = new Thread(loop, name + suffix);
        t.setDaemon(true);
        loops.add(t);
        t.start();
    }

    @Override
    public final synchronized void start() {
        if (started) {
            return;
        }
        for (String q : queues) {
            backend.topics().ensure(q);
            backend.adoptLegacyOffsets(q);
        }
        for (String group : groupIds()) {
            backend.applyGroupConfigs(group, groupDefaults());
        }
        pool = KafkaBackend.pool(name + "-worker", concurrency);
        for (String q : queues) {
            schedulers.add(backend.scheduler(q, name + "-" + q));
        }
        running = true;
        started = true;
        startLoops();
        schedulers.forEach(DelayScheduler::start);
        backend.lagMonitor().watch(queues);
    }

    @Override
    public final boolean stop(Duration timeout) {
        synchronized (this) {
            if (!started) {
                return true;
            }
            if (running) {
                stopDeadlineNanos = System.nanoTime() + timeout.toNanos();
                running = false;
            }
        }
        boolean alive = false;
        for (Thread t : loops) {
            try {
                // A loop notices within one poll timeout, then drains, acknowledges or commits, and leaves the group.
                t.join(timeout.toMillis() + 15_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            alive |= t.isAlive();
        }
        // Jobs still running past the deadline are interrupted; their records were not acknowledged or committed.
        pool.shutdownNow();
        schedulers.forEach(s -> s.stop(Duration.ofSeconds(10)));
        return clean && !alive;
    }

    @Override
    public final void close() {
        stop(config.shutdownTimeout());
    }
}
