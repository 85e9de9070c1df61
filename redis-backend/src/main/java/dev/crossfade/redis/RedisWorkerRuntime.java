package dev.crossfade.redis;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.redis.internal.Acknowledger;
import dev.crossfade.redis.internal.Backoff;
import dev.crossfade.redis.internal.Connections;
import dev.crossfade.redis.internal.ExecutionMetrics;
import dev.crossfade.redis.internal.FailureLog;
import dev.crossfade.redis.internal.Fetched;
import dev.crossfade.redis.internal.JobRetry;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.Launcher;
import dev.crossfade.redis.internal.Processor;
import dev.crossfade.redis.internal.Recovery;
import dev.crossfade.redis.internal.RedisMetrics;
import dev.crossfade.redis.internal.ReliableFetch;
import dev.crossfade.redis.internal.Scheduled;
import dev.crossfade.redis.internal.ServerCheck;
import dev.crossfade.redis.internal.Supervisor;
import dev.crossfade.redis.internal.WireFormat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * A Redis worker process (Sidekiq's manager): heartbeat, reliable fetcher, worker threads, acknowledger and
 * scheduled-job poller. Obtained from {@link RedisBackend#workers}; {@link #start()} once, {@link #stop} once (further
 * calls return the first result).
 *
 * <p>Fetching is bounded: at most {@code concurrency} jobs run, and at most
 * {@code max(concurrency, min(fetchBatchSize, 10 × concurrency))} more wait locally, already in the in-progress list.
 * The prefetch keeps worker threads from waiting on a fetch round trip (it roughly tripled no-op throughput), while
 * the bound keeps a process from hoarding jobs other processes could run. Shutdown stops fetching, waits for running jobs, pushes
 * unfinished and waiting ones back to the front (right end) of their queues, writes pending outcomes, and removes the
 * heartbeat. If Redis is unreachable meanwhile, whatever could not be written stays in the in-progress lists and the
 * recovery registration is kept, so another process recovers it: a job may run twice, but is never lost.
 *
 * <p>No input and no fault stops a thread: every loop catches everything and gives the job in hand an outcome, and a
 * {@link Supervisor} replaces any thread that dies anyway. Thread names carry the nonce of the identity
 * ({@code crossfade-redis-worker-<nonce>-0}), so a thread dump shows which process a thread belongs to.
 */
public final class RedisWorkerRuntime implements WorkerRuntime {
    private static final Logger log = LoggerFactory.getLogger(RedisWorkerRuntime.class);

    private final UnifiedJedis redis;
    private final Connections connections;
    private final RedisBackendConfig config;
    private final String identity;
    private final int concurrency;
    private final ReliableFetch fetch;
    private final Processor processor;
    private final Acknowledger acker;
    private final Launcher launcher;
    private final Scheduled poller;
    private final Supervisor supervisor;
    private final String threadTag;
    private final LinkedBlockingQueue<Fetched> local = new LinkedBlockingQueue<>();
    private final Semaphore permits;
    private final FailureLog fetchFailures;
    private Supervisor.Slot fetcher;
    private volatile boolean stopping;
    /** After a failed fetch Redis may have moved jobs whose reply was lost: look for them once fetching works. */
    private volatile boolean fetchUncertain;

    private boolean started;
    private Boolean stopResult;

    RedisWorkerRuntime(
            UnifiedJedis redis,
            Connections connections,
            RedisBackendConfig config,
            Keys keys,
            RedisMetrics metrics,
            WireFormat wire,
            ExecutionCore core,
            List<String> queues,
            int concurrency) {
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, got " + concurrency);
        }
        if (queues.isEmpty()) {
            throw new IllegalArgumentException("a worker runtime needs at least one queue");
        }
        this.redis = redis;
        this.connections = connections;
        this.config = config;
        this.concurrency = concurrency;
        this.identity = Launcher.newIdentity();
        this.threadTag = identity.substring(identity.lastIndexOf(':') + 1);
        this.supervisor = new Supervisor(threadName("supervisor"), metrics);
        this.fetchFailures = new FailureLog(log, "fetching from Redis at " + config.redactedUrl());
        this.permits =
                new Semaphore(concurrency + Math.max(concurrency, Math.min(config.fetchBatchSize(), 10 * concurrency)));
        // Each queue's shadow copies wait in a queue of their own that only Crossfade fetches.
        List<String> fetched = new ArrayList<>(queues);
        queues.forEach(q -> fetched.add(Keys.shadowQueue(q)));
        this.fetch = new ReliableFetch(redis, keys, identity, fetched, config, metrics);
        JobRetry retry = new JobRetry(keys, config, wire);
        this.acker = new Acknowledger(redis, retry, metrics, config, fetch::released, threadName("ack"));
        ExecutionMetrics executions = new ExecutionMetrics(keys.prefix());
        this.processor = new Processor(
                core, concurrency, local, permits, acker, () -> launcher().fresh(), executions, threadName("worker"));
        this.launcher = new Launcher(
                redis,
                keys,
                identity,
                config,
                fetch,
                new Recovery(redis, keys, identity, config, metrics),
                processor,
                retry,
                metrics,
                executions,
                wire,
                concurrency,
                () -> launcher().quiet(true),
                this::close,
                this::dropPrefetched,
                threadName("heartbeat"));
        this.poller = new Scheduled(redis, keys, config);
    }

    private String threadName(String role) {
        return "crossfade-redis-" + role + "-" + threadTag;
    }

    private Launcher launcher() {
        return launcher;
    }

    /** This process's Sidekiq identity ({@code hostname:pid:nonce}), as listed by {@code Sidekiq::ProcessSet}. */
    public String identity() {
        return identity;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalStateException when started twice, or when {@code strictEvictionPolicy} is on and Redis's
     *                               {@code maxmemory-policy} is not {@code noeviction} (or cannot be reached to check)
     */
    @Override
    public synchronized void start() {
        if (started) {
            throw new IllegalStateException("worker runtime " + identity + " was already started");
        }
        checkServer();
        started = true;
        connections.reserve(concurrency);
        supervisor.start();
        launcher.start(supervisor);
        acker.start(supervisor);
        processor.start(supervisor);
        fetcher = supervisor.start(threadName("fetch"), "fetcher", this::fetchLoop);
        poller.start(supervisor, threadName("poller"));
        log.info(
                "Redis worker process {} started: queues {}, concurrency {}, Redis {}",
                identity,
                fetch.queues(),
                concurrency,
                config.redactedUrl());
    }

    private void checkServer() {
        List<String> problems;
        try {
            problems = ServerCheck.problems(redis, config.redactedUrl());
        } catch (JedisException e) {
            if (config.strictEvictionPolicy()) {
                throw new IllegalStateException(
                        "cannot check maxmemory-policy of Redis at " + config.redactedUrl()
                                + " (strictEvictionPolicy is on): " + e.getMessage(),
                        e);
            }
            log.warn("cannot reach Redis at {} to check maxmemory-policy: {}", config.redactedUrl(), e.toString());
            return;
        }
        for (String p : problems) {
            if (config.strictEvictionPolicy()) {
                throw new IllegalStateException(p + " Refusing to start because strictEvictionPolicy is on.");
            }
            log.warn("!!! {} !!!", p);
        }
    }

    private void fetchLoop() {
        Backoff backoff = new Backoff(config.maxReconnectBackoff());
        while (!stopping) {
            int held = 0;
            try {
                if (!launcher.mayFetch()) {
                    Thread.sleep(50);
                    continue;
                }
                if (!permits.tryAcquire(100, TimeUnit.MILLISECONDS)) {
                    continue;
                }
                int extra = permits.drainPermits();
                int more = Math.min(extra, config.fetchBatchSize() - 1);
                permits.release(extra - more);
                held = 1 + more;
                List<Fetched> got = fetch.fetch(held);
                fetchFailures.ok();
                backoff.reset();
                permits.release(held - got.size());
                held = 0;
                local.addAll(got);
                if (fetchUncertain) {
                    fetchUncertain = !reclaimOrphans();
                }
            } catch (InterruptedException e) {
                // stop() interrupts nothing here; the loop condition decides
            } catch (Throwable e) { // NOPMD: a failed fetch must never end fetching
                permits.release(held);
                fetchUncertain = true;
                fetchFailures.failed(e, "retrying with backoff; running jobs continue");
                backoff.pause();
                if (e instanceof ThreadDeath death) {
                    throw death;
                }
            }
        }
    }

    /**
     * Forgets the jobs fetched but not started, after a peer recovered this process's lists: they are back in their
     * queues, and starting them here would run them twice.
     */
    private void dropPrefetched() {
        List<Fetched> waiting = new ArrayList<>();
        local.drainTo(waiting);
        int dropped = 0;
        for (Fetched f : waiting) {
            if (f.abandonForShutdown()) {
                fetch.released(f);
                permits.release();
                dropped++;
            }
        }
        if (dropped > 0) {
            log.warn("dropped {} fetched job(s) that a peer had already pushed back to their queues", dropped);
        }
    }

    /** @return false if Redis could not be read (try again after the next fetch) */
    private boolean reclaimOrphans() {
        try {
            int n = fetch.reclaimOrphans();
            if (n > 0) {
                log.warn(
                        "pushed {} job(s) back to their queues: a fetch had moved them to this process's in-progress "
                                + "list but its reply was lost with the connection",
                        n);
            }
            return true;
        } catch (ThreadDeath death) {
            throw death;
        } catch (Throwable e) { // NOPMD: tried again after the next fetch
            return false;
        }
    }

    @Override
    public synchronized boolean stop(Duration timeout) {
        if (stopResult != null) {
            return stopResult;
        }
        if (!started) {
            stopResult = true;
            return true;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        stopping = true;
        supervisor.stop();
        processor.stopTaking();
        poller.stop();
        fetcher.join(System.nanoTime()
                + config.fetchBlockTimeout().plus(config.socketTimeout()).toNanos());
        List<Fetched> back = new ArrayList<>();
        local.drainTo(back);
        back.removeIf(f -> !f.abandonForShutdown());
        boolean clean = processor.awaitIdle(deadline);
        if (!clean) {
            List<Fetched> running = processor.abandonRunning();
            log.warn(
                    "{} job(s) still running after the {} ms shutdown timeout: pushing them back to their queues",
                    running.size(),
                    timeout.toMillis());
            back.addAll(running);
        }
        long grace = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        requeue(back, Math.max(deadline, grace));
        boolean written = acker.stop(Math.max(deadline, grace));
        long left;
        try {
            left = fetch.inProgress();
        } catch (RuntimeException e) {
            left = -1;
        }
        launcher.stop(written && left == 0);
        connections.release(concurrency);
        if (left != 0) {
            log.warn(
                    "worker process {} stopped with {} job(s) left in its in-progress lists; another process will "
                            + "recover them after {} s",
                    identity,
                    left < 0 ? "an unknown number of" : left,
                    config.recoveryTimeout().toSeconds());
        } else {
            log.info("worker process {} stopped{}", identity, clean ? "" : " (some jobs were pushed back)");
        }
        stopResult = clean;
        return clean;
    }

    private void requeue(List<Fetched> jobs, long giveUpAt) {
        if (jobs.isEmpty()) {
            return;
        }
        Backoff backoff = new Backoff(config.maxReconnectBackoff());
        while (true) {
            try {
                int n = fetch.requeue(jobs);
                log.info("pushed {} unfinished job(s) back to the front of their queues", n);
                return;
            } catch (RuntimeException e) {
                if (System.nanoTime() - giveUpAt > 0 || !backoff.pause()) {
                    log.warn(
                            "cannot push {} unfinished job(s) back ({}); they stay in progress for recovery",
                            jobs.size(),
                            e.toString());
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        stop(config.shutdownTimeout());
    }
}
