package dev.crossfade.kafka.internal;

import dev.crossfade.kafka.KafkaBackendConfig;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The jobs a revoke or stop would leave behind finished ones. A partition's chunks run side by side, so when they are
 * abandoned a job of one key may be unstarted while jobs of other keys past it have finished; a commit can only say
 * that everything below one offset is done, so the next owner would run those finished jobs again. Once the running
 * jobs are done, this runs each partition's unstarted jobs below its highest finished one, each ordering's in order
 * on the runner's pool, so the commit covers every finished job. Jobs start until half the time left, so that they can
 * finish by the deadline; only jobs handed to the workers before run (the rest were never announced). A partition
 * recovering from a crashed owner is left as it is (its suspects run alone).
 */
final class GapFill {
    private static final Logger log = LoggerFactory.getLogger(GapFill.class);

    private final GroupRunner runner;
    private final List<Chain> chains = new ArrayList<>();
    private volatile boolean go = true;

    private GapFill(GroupRunner runner) {
        this.runner = runner;
    }

    /**
     * Runs the partitions' gaps; call once none of their jobs runs. Returns false when a job started here was still
     * running at the deadline.
     */
    static boolean run(GroupRunner runner, Collection<PartitionState> partitions, long deadlineNanos) {
        GapFill fill = new GapFill(runner);
        for (PartitionState st : partitions) {
            if (st.recovery == null) {
                fill.collect(st, runner.config.ordering());
            }
        }
        if (fill.chains.isEmpty()) {
            return true;
        }
        log.debug(
                "{}: running the jobs left behind finished ones ({} orderings) before committing",
                runner.name,
                fill.chains.size());
        return fill.runAll(deadlineNanos);
    }

    /** Adds the partition's gap chunks, grouped by ordering. */
    private void collect(PartitionState st, KafkaBackendConfig.Ordering ordering) {
        long bound = st.highestFinished();
        if (bound < 0) {
            return;
        }
        Set<Chunk> held = Collections.newSetFromMap(new IdentityHashMap<>());
        st.held.forEach(h -> held.add(h.chunk()));
        Map<Object, Chain> byOrder = new LinkedHashMap<>();
        for (Chunk c : st.chunks) {
            long first = c.firstUnfinishedOffset();
            if (first < 0 || first > bound || held.contains(c)) {
                continue;
            }
            Chain chain = switch (ordering) {
                case PARTITION -> byOrder.computeIfAbsent(st, k -> newChain(bound));
                case KEY -> {
                    byte[] key = c.records().get(0).key();
                    yield key == null
                            ? newChain(bound)
                            : byOrder.computeIfAbsent(ByteBuffer.wrap(key), k -> newChain(bound));
                }
                case NONE -> newChain(bound);
            };
            chain.chunks.add(c);
        }
    }

    /** Chunks that must run one after another, each up to {@code bound}. */
    private record Chain(List<Chunk> chunks, long bound) {}

    private Chain newChain(long bound) {
        Chain chain = new Chain(new ArrayList<>(1), bound);
        chains.add(chain);
        return chain;
    }

    /**
     * Runs the chains on up to {@code concurrency} pool tasks. A task still queued behind other partitions' jobs when
     * starting ends is not waited for: it sees {@link #go} false and runs nothing. Returns false when a job started
     * here may still be running.
     */
    private boolean runAll(long deadlineNanos) {
        long now = System.nanoTime();
        long startBy = now + (deadlineNanos - now) / 2;
        AtomicInteger next = new AtomicInteger();
        int tasks = Math.min(runner.concurrency, chains.size());
        AtomicInteger pending = new AtomicInteger(tasks);
        // Counted before a task reads go, so once go is false, no task outside this count starts a job.
        AtomicInteger active = new AtomicInteger();
        Runnable task = () -> {
            active.incrementAndGet();
            try {
                for (int i; go && (i = next.getAndIncrement()) < chains.size(); ) {
                    runChain(chains.get(i));
                }
            } finally {
                active.decrementAndGet();
                pending.decrementAndGet();
            }
        };
        for (int t = 0; t < tasks; t++) {
            try {
                runner.pool.execute(task);
            } catch (RejectedExecutionException e) {
                pending.decrementAndGet();
            }
        }
        while (go ? pending.get() > 0 : active.get() > 0) {
            long t = System.nanoTime();
            if (go && t - startBy >= 0) {
                go = false;
                continue;
            }
            if (t - deadlineNanos >= 0) {
                go = false;
                return false;
            }
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                go = false;
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return true;
    }

    private void runChain(Chain chain) {
        for (Chunk c : chain.chunks) {
            if (!runner.runAbandoned(c, chain.bound, () -> go)) {
                return;
            }
        }
    }
}
