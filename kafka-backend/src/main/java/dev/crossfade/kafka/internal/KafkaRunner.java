package dev.crossfade.kafka.internal;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.kafka.KafkaBackendConfig;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * The lifecycle both consumer modes share: topics ensured and group configs applied before the first member joins, a
 * pool of worker threads, poll-loop threads, the delay-tier scheduler and the lag monitor; a stop that gives the loops
 * until a deadline to finish, acknowledge or commit what is done, and leave.
 *
 * <p>A stop keeps to its timeout even when the broker is gone: the final commits and closes get what is left until
 * the deadline, and at least {@link #LAST_WORD} each when running jobs used it all.
 */
public abstract class KafkaRunner implements WorkerRuntime {
    /** The least time a stop gives a final commit, and then a close, past its deadline. */
    public static final Duration LAST_WORD = Duration.ofSeconds(1);

    final RunnerParts parts;
    final KafkaBackendConfig config;
    final JobExecution execution;
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

    KafkaRunner(RunnerParts parts, ExecutionCore core, List<String> queues, int concurrency, String kind) {
        this.parts = parts;
        this.config = parts.config();
        this.execution = new JobExecution(core, parts.outcomes(), parts.topics());
        this.queues = queues;
        this.concurrency = concurrency;
        this.name = "crossfade-kafka-" + kind + config.groupId() + "-" + ClientProperties.nextId();
    }

    /** The runtime's name: its threads' names start with it. */
    public String name() {
        return name;
    }

    /** Time left until {@code deadlineNanos}, and at least {@link #LAST_WORD}. */
    public static Duration left(long deadlineNanos) {
        return Duration.ofNanos(Math.max(deadlineNanos - System.nanoTime(), LAST_WORD.toNanos()));
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
            parts.topics().ensure(q);
            parts.groups().adoptLegacyOffsets(q);
        }
        for (String group : groupIds()) {
            parts.groups().applyConfigs(group, groupDefaults());
        }
        pool = Threads.pool(name + "-worker", concurrency);
        for (String q : queues) {
            schedulers.add(scheduler(q, name + "-" + q));
        }
        running = true;
        started = true;
        startLoops();
        schedulers.forEach(DelayScheduler::start);
        parts.lag().watch(queues);
    }

    /** The delay scheduler of one queue, in that queue's scheduler group. */
    private DelayScheduler scheduler(String queue, String schedulerName) {
        String group = config.schedulerGroup(queue);
        parts.groups().applySchedulerConfigs(group);
        return new DelayScheduler(
                new KafkaConsumer<>(parts.clients().consumer(group, schedulerName + "-scheduler")),
                parts.producer(),
                parts.outcomes(),
                parts.topics(),
                List.of(queue),
                config.schedulerPollInterval(),
                schedulerName + "-scheduler");
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
        long deadline = stopDeadlineNanos;
        // The schedulers stop alongside the loops, so neither waits on the other for a broker that is gone.
        schedulers.forEach(s -> s.stop(deadline));
        // A loop notices within one poll timeout, then drains, acknowledges or commits, and leaves the group.
        long until = deadline + 3 * LAST_WORD.toNanos();
        boolean alive = false;
        for (Thread t : loops) {
            try {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            alive |= t.isAlive();
        }
        // Jobs still running past the deadline are interrupted; their records were not acknowledged or committed.
        pool.shutdownNow();
        schedulers.forEach(s -> s.join(until));
        return clean && !alive;
    }

    @Override
    public final void close() {
        stop(config.shutdownTimeout());
    }

    /** Sleeps up to {@code millis}, less once the runtime stops. */
    final void pause(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        try {
            while (running && System.nanoTime() - until < 0) {
                Thread.sleep(Math.min(50, millis));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
