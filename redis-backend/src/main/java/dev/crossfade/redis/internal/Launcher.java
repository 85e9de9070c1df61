package dev.crossfade.redis.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.crossfade.redis.RedisBackendConfig;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.AbstractPipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The heartbeat. Makes this JVM look like a Sidekiq process to Sidekiq's Web UI and {@code Sidekiq::ProcessSet}
 * ({@code SADD processes <identity>}, {@code HSET <identity> info/concurrency/busy/beat/rtt_us/quiet/rss} expiring after
 * 60 s, {@code info} with Sidekiq 8's capsules, and
 * the busy-jobs hash under both the 6.x and the 7.x key), flushes the {@code stat:*} counters as Sidekiq does, records
 * the beat in Crossfade's own registry used for recovery, and then recovers processes that stopped beating.
 * Honours the Web UI's Quiet (TSTP) and Stop (TERM) buttons.
 *
 * <p>Liveness is judged by Redis, never by JVM clocks: each beat stamps the registry with the server's {@code TIME}
 * and sets a liveness key that expires after the recovery timeout (the TTL). Three rules keep a live process from
 * being recovered, and so its jobs from running twice:
 * <ul>
 *   <li>A process judges peers only after it has beaten without a break for one TTL. After an outage every liveness
 *   key has expired; this gives every live peer the time to beat again before anyone looks.</li>
 *   <li>A process whose last successful beat is older than three quarters of the TTL is stale: it fetches and starts
 *   no job until it beats again, since peers may be about to judge it dead.</li>
 *   <li>A beat that finds its own registration gone, and the mark a recovering peer leaves, learns that its lists
 *   were recovered: the jobs it had fetched but not started are queued again already, so it drops them.</li>
 * </ul>
 */
public final class Launcher {
    private static final Logger log = LoggerFactory.getLogger(Launcher.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int PROCESS_TTL_SECONDS = 60;
    /** Sidekiq's STATS_TTL: five years. */
    private static final long STATS_TTL_SECONDS = 5L * 365 * 24 * 60 * 60;

    private static final DateTimeFormatter DAY =
            DateTimeFormatter.ofPattern("yyyy-MM-dd").withZone(ZoneOffset.UTC);

    private final UnifiedJedis redis;
    private final Keys keys;
    private final String identity;
    private final RedisBackendConfig config;
    private final ReliableFetch fetch;
    private final Recovery recovery;
    private final Processor processor;
    private final JobRetry retry;
    private final RedisMetrics metrics;
    private final String info;
    private final Runnable onQuiet;
    private final Runnable onStop;
    private final Runnable onRecoveredByPeer;
    private final String threadName;
    private final int concurrency;
    private final ExecutionMetrics executions;
    private final WireFormat wire;
    private final FailureLog failures;
    private final long ttlNanos;
    private final long staleAfterNanos;
    private Supervisor supervisor;
    private Supervisor.Slot thread;
    private volatile boolean stopped;
    private volatile boolean registered;
    private volatile boolean quiet;
    /** When the last successful beat started (System.nanoTime); meaningful once registered. */
    private volatile long lastBeatNanos;
    /** Whether every beat since connectedSinceNanos succeeded. */
    private volatile boolean beating;

    private volatile long connectedSinceNanos;
    /** The Redis server's time as of the last beat, epoch seconds. */
    private volatile double serverNow;

    private boolean swept;
    private long lastSweepNanos;
    private boolean staleLogged;

    /**
     * @param onRecoveredByPeer called on the heartbeat thread when a beat finds that a peer recovered this process's
     *                          lists while it could not beat
     */
    public Launcher(
            UnifiedJedis redis,
            Keys keys,
            String identity,
            RedisBackendConfig config,
            ReliableFetch fetch,
            Recovery recovery,
            Processor processor,
            JobRetry retry,
            RedisMetrics metrics,
            ExecutionMetrics executions,
            WireFormat wire,
            int concurrency,
            Runnable onQuiet,
            Runnable onStop,
            Runnable onRecoveredByPeer,
            String threadName) {
        this.redis = redis;
        this.keys = keys;
        this.identity = identity;
        this.config = config;
        this.fetch = fetch;
        this.recovery = recovery;
        this.onRecoveredByPeer = onRecoveredByPeer;
        this.ttlNanos = config.recoveryTimeout().toNanos();
        this.staleAfterNanos = ttlNanos / 4 * 3;
        this.processor = processor;
        this.retry = retry;
        this.metrics = metrics;
        this.onQuiet = onQuiet;
        this.onStop = onStop;
        ObjectNode i = JSON.createObjectNode();
        i.put("hostname", hostname());
        i.put("started_at", Instant.now().toEpochMilli() / 1000.0);
        i.put("pid", ProcessHandle.current().pid());
        i.put("tag", config.tag());
        i.put("concurrency", concurrency);
        // Sidekiq Web lists the queues a process works; shadow queues are Crossfade's own. Sidekiq 8 reads them from
        // the capsules (one here: every thread works every queue), older ones from queues and weights. The fetcher
        // tries the queues in a random order each time: Sidekiq's random mode, every weight 1.
        List<String> shown =
                fetch.queues().stream().filter(q -> !Keys.isShadowQueue(q)).toList();
        ObjectNode weights = JSON.createObjectNode();
        shown.forEach(q -> weights.put(q, 1));
        ObjectNode capsule = i.putObject("capsules").putObject("default");
        capsule.put("concurrency", concurrency);
        capsule.put("mode", "random");
        capsule.set("weights", weights);
        shown.forEach(i.putArray("queues")::add);
        i.putArray("weights").add(weights.deepCopy());
        i.putArray("labels").add("crossfade").add("java");
        i.put("identity", identity);
        i.put("version", "crossfade");
        i.put("embedded", false);
        this.info = i.toString();
        this.threadName = threadName;
        this.concurrency = concurrency;
        this.executions = executions;
        this.wire = wire;
        this.failures = new FailureLog(log, "heartbeat to Redis at " + config.redactedUrl());
    }

    /** Sidekiq's identity format: {@code hostname:pid:nonce}. */
    public static String newIdentity() {
        byte[] nonce = new byte[6];
        java.util.concurrent.ThreadLocalRandom.current().nextBytes(nonce);
        return hostname() + ":" + ProcessHandle.current().pid() + ":"
                + java.util.HexFormat.of().formatHex(nonce);
    }

    public boolean quiet() {
        return quiet;
    }

    /**
     * Whether this process's last successful beat is recent enough that no peer can judge it dead yet: only then may
     * it fetch or start jobs.
     */
    public boolean fresh() {
        return registered && System.nanoTime() - lastBeatNanos < staleAfterNanos;
    }

    /** Whether jobs may be fetched now: registered, fresh and not quieted. */
    public boolean mayFetch() {
        return fresh() && !quiet;
    }

    public void quiet(boolean quiet) {
        this.quiet = quiet;
    }

    /**
     * Beats once now (so the process is registered before it fetches) and then every heartbeat interval, on a thread
     * the supervisor replaces if it dies. (A scheduled executor would silently stop beating after one thrown
     * exception, leaving a fetching process invisible to its peers.)
     */
    public void start(Supervisor supervisor) {
        this.supervisor = supervisor;
        try {
            beat();
        } catch (Throwable e) { // NOPMD: the loop goes on beating
            failures.failed(
                    e,
                    "fetching waits until a heartbeat succeeds; retrying every "
                            + config.heartbeatInterval().toMillis() + " ms");
        }
        thread = supervisor.start(threadName, "heartbeat", this::loop);
    }

    private void loop() {
        long every = config.heartbeatInterval().toMillis();
        while (!stopped) {
            try {
                Thread.sleep(every);
            } catch (InterruptedException e) {
                continue;
            }
            tick();
        }
    }

    private void tick() {
        try {
            supervisor.revive();
            beat();
            if (staleLogged) {
                staleLogged = false;
                log.info("worker process {} beats again: fetching and starting jobs again", identity);
            }
            long now = System.nanoTime();
            if (beating && now - connectedSinceNanos >= ttlNanos) {
                recovery.recoverDead(serverNow);
                if (!swept || now - lastSweepNanos >= ttlNanos) {
                    recovery.sweepOrphanedLists();
                    swept = true;
                    lastSweepNanos = now;
                }
            }
            retry.drainPoison(redis, config.maxRecoveries());
            refreshQueueSizes();
            failures.ok();
        } catch (ThreadDeath death) {
            throw death;
        } catch (Throwable e) { // NOPMD: one failed beat must not end the heartbeat
            failures.failed(e, "retrying every " + config.heartbeatInterval().toMillis() + " ms");
            if (registered && !fresh() && !staleLogged) {
                staleLogged = true;
                log.warn(
                        "worker process {} has not beaten for over {} s: it fetches and starts no job until a beat "
                                + "succeeds, as peers judge it dead after {} s",
                        identity,
                        TimeUnit.NANOSECONDS.toSeconds(staleAfterNanos),
                        config.recoveryTimeout().toSeconds());
            }
        }
    }

    /** One heartbeat: recovery registration, stats, Sidekiq process entry, busy jobs, signals. */
    public void beat() {
        long procd = processor.takeProcessed();
        long fails = processor.takeFailed();
        Map<String, Processor.Work> busy = Map.copyOf(processor.busy());
        Map<String, ExecutionMetrics.Counts> runs = executions.take();
        Instant wallNow = Instant.now();
        String day = DAY.format(wallNow);
        Response<byte[]> signal;
        long t0 = System.nanoTime();
        try {
            // Crossfade's recovery registry first: it must exist before any job enters our in-progress lists.
            List<?> reg = (List<?>) Scripts.BEAT.eval(
                    redis,
                    List.of(
                            Keys.bytes(keys.beats()),
                            Keys.bytes(keys.fetchQueues()),
                            Keys.bytes(keys.alive(identity)),
                            Keys.bytes(keys.recovered(identity))),
                    List.of(
                            Keys.bytes(identity),
                            Keys.bytes(fetch.queuesJson()),
                            Keys.bytes(Long.toString(config.recoveryTimeout().toMillis()))));
            long rtt = (System.nanoTime() - t0) / 1_000;
            double now = Long.parseLong(text(reg.get(1))) + Long.parseLong(text(reg.get(2))) / 1e6;
            if (registered && (Long) reg.get(0) == 0L) {
                if ((Long) reg.get(3) == 1L) {
                    log.warn(
                            "worker process {} was judged dead by a peer while it could not beat, and its "
                                    + "in-progress jobs were queued again: dropping the jobs it had fetched but not started; "
                                    + "jobs still running may run twice",
                            identity);
                    onRecoveredByPeer.run();
                } else {
                    // Nobody queued them again: dropping them would lose them. They run; their acknowledgements
                    // find nothing to remove.
                    log.warn(
                            "Redis at {} no longer had the registration of worker process {} (restarted without "
                                    + "its data, or flushed); the jobs it had fetched still run",
                            config.redactedUrl(),
                            identity);
                }
            }
            serverNow = now;
            try (AbstractPipeline p = redis.pipelined()) {
                flushStats(p, procd, fails, day);
                flushRuns(p, runs, wallNow);
                for (String workKey : List.of(keys.workers(identity), keys.work(identity))) {
                    p.unlink(workKey);
                    if (!busy.isEmpty()) {
                        Map<String, String> fields = new LinkedHashMap<>();
                        busy.forEach((tid, w) -> fields.put(tid, workJson(w)));
                        p.hset(workKey, fields);
                        p.expire(workKey, PROCESS_TTL_SECONDS);
                    }
                }
                p.sadd(keys.processes(), identity);
                Map<String, String> fields = new LinkedHashMap<>();
                fields.put("info", info);
                fields.put("concurrency", Integer.toString(concurrency));
                fields.put("busy", Integer.toString(busy.size()));
                fields.put("beat", Keys.num(now));
                fields.put("rtt_us", Long.toString(rtt));
                fields.put("quiet", Boolean.toString(quiet));
                fields.put("rss", Long.toString(rssKb()));
                p.hset(keys.process(identity), fields);
                p.expire(keys.process(identity), PROCESS_TTL_SECONDS);
                signal = p.rpop(Keys.bytes(keys.signals(identity)));
                p.sync();
            }
        } catch (RuntimeException | Error e) {
            beating = false;
            processor.restoreCounts(procd, fails);
            executions.restore(runs);
            throw e;
        }
        lastBeatNanos = t0;
        if (!beating) {
            beating = true;
            connectedSinceNanos = t0;
        }
        registered = true;
        byte[] sig = signal.get();
        if (sig != null) {
            handleSignal(new String(sig, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private static String text(Object reply) {
        return reply instanceof byte[] b
                ? new String(b, java.nio.charset.StandardCharsets.US_ASCII)
                : String.valueOf(reply);
    }

    /** Sidekiq's counters, total and per day (the daily keys expire as Sidekiq's do). */
    private void flushStats(AbstractPipeline p, long procd, long fails, String day) {
        if (procd + fails == 0) {
            return;
        }
        p.incrBy(keys.stat("processed"), procd);
        p.incrBy(keys.stat("processed:" + day), procd);
        p.expire(keys.stat("processed:" + day), STATS_TTL_SECONDS);
        p.incrBy(keys.stat("failed"), fails);
        p.incrBy(keys.stat("failed:" + day), fails);
        p.expire(keys.stat("failed:" + day), STATS_TTL_SECONDS);
    }

    /** Sidekiq 7/8's execution metrics; Sidekiq 6 has no Metrics page, so a Sidekiq 6 fleet gets none. */
    private void flushRuns(AbstractPipeline p, Map<String, ExecutionMetrics.Counts> runs, Instant now) {
        if (wire.version() != dev.crossfade.redis.SidekiqVersion.V6) {
            executions.flush(p, runs, now);
        }
    }

    private void handleSignal(String sig) {
        switch (sig) {
            case "TSTP" -> {
                log.info("received TSTP from Redis (Sidekiq Web UI 'Quiet'): no longer fetching new jobs");
                onQuiet.run();
            }
            case "TERM" -> {
                log.info("received TERM from Redis (Sidekiq Web UI 'Stop'): shutting down the worker runtime");
                Thread t = new Thread(onStop, "crossfade-redis-stop");
                t.setDaemon(true);
                t.start();
            }
            default -> log.info("ignoring signal {} pushed to {}", sig, keys.signals(identity));
        }
    }

    private void refreshQueueSizes() {
        for (String q : fetch.queues()) {
            metrics.queueSize(q, redis.llen(keys.queue(q)));
        }
    }

    /**
     * Removes the Sidekiq process entry; and, when {@code forgetRecovery} (no job is left in our in-progress lists),
     * this process's recovery registration too. Otherwise the registration stays so that another process recovers the
     * leftovers once our beat is old enough.
     */
    public void stop(boolean forgetRecovery) {
        stopped = true;
        if (thread != null) {
            thread.interrupt();
            thread.join(System.nanoTime() + TimeUnit.SECONDS.toNanos(5));
        }
        try {
            long procd = processor.takeProcessed();
            long fails = processor.takeFailed();
            Map<String, ExecutionMetrics.Counts> runs = executions.take();
            Instant wallNow = Instant.now();
            String day = DAY.format(wallNow);
            try (AbstractPipeline p = redis.pipelined()) {
                flushStats(p, procd, fails, day);
                flushRuns(p, runs, wallNow);
                p.srem(keys.processes(), identity);
                p.unlink(
                        keys.process(identity),
                        keys.workers(identity),
                        keys.work(identity),
                        keys.alive(identity),
                        keys.recovered(identity));
                if (forgetRecovery) {
                    p.zrem(keys.beats(), identity);
                    p.hdel(keys.fetchQueues(), identity);
                }
                p.sync();
            }
        } catch (JedisException e) {
            log.warn(
                    "cannot remove the heartbeat of {} from Redis ({}); Sidekiq drops it within 60 s and "
                            + "Crossfade recovers any job it left in progress",
                    identity,
                    e.toString());
        }
    }

    /** One busy-jobs entry; a payload that cannot be written (it can be anything fetched) never fails the beat. */
    private static String workJson(Processor.Work w) {
        ObjectNode n = JSON.createObjectNode();
        n.put("queue", w.queue());
        n.put("payload", w.payload());
        n.put("run_at", w.runAt());
        try {
            return JSON.writeValueAsString(n);
        } catch (JsonProcessingException | RuntimeException e) {
            n.put("payload", "{\"class\":\"crossfade.UnshownPayload\",\"args\":[]}");
            return n.toString();
        }
    }

    static double nowSeconds() {
        Instant t = Instant.now();
        return t.getEpochSecond() + t.getNano() / 1e9;
    }

    private static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // Not Linux: Sidekiq reports 0 where it cannot tell either.
        }
        return 0;
    }

    private static String hostname() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env;
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
