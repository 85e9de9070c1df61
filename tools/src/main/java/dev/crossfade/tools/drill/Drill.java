package dev.crossfade.tools.drill;

import dev.crossfade.api.Job;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.flags.file.FlagsFile;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * The fault drill: its own Redis (append-only, fsync always) and Kafka broker, or with
 * {@link DrillSettings#cluster()} its own three-node Kafka cluster and Redis behind Sentinel ({@link ClusterServers}),
 * worker processes running
 * {@code crossfade work}, a producer enqueuing through the router at a steady rate while the route flag moves every few
 * hundred milliseconds, and faults on a schedule. At the end every jid the producer got an OK for is accounted for
 * (see {@link DrillReport}). One drill per instance; {@link #run()} blocks until the report is ready.
 */
public final class Drill {
    private static final Logger log = LoggerFactory.getLogger(Drill.class);
    private static final String QUEUE = Job.DEFAULT_QUEUE;
    private static final double[] ROUTE_PERCENTS = {10, 25, 50, 75, 100};
    private static final Duration WORKER_START = Duration.ofSeconds(90);
    /** The workers' heartbeat TTL ({@code redis.heartbeat-ttl}): short, so an outage longer than it fits in a drill. */
    static final Duration HEARTBEAT_TTL = Duration.ofSeconds(6);
    /**
     * The cluster drill's TTL: a failover (master judged down after 5 s, promotion about 2 s later) must not outlast the
     * last beats the replica got, or live processes would be judged dead; it has no Redis outage fault to fit.
     */
    static final Duration CLUSTER_HEARTBEAT_TTL = Duration.ofSeconds(15);
    /** How much longer than the TTL Redis stays frozen: every liveness key has expired by the time it is back. */
    private static final Duration OUTAGE_MARGIN = Duration.ofSeconds(4);

    private static final Pattern JID = Pattern.compile("\"jid\":\"([^\"]+)\"");

    private final DrillSettings settings;
    private final PrintWriter out;
    private final Random random;
    final long t0 = System.nanoTime();
    final long wallT0 = System.currentTimeMillis();

    private final String run = Long.toHexString(System.nanoTime() & 0xffffffL);
    private final String namespace = "drill-" + run + ":";
    private final String topicPrefix = "drill-" + run;

    private Path dir;
    private LocalRedis redisServer;
    private LocalKafka kafkaServer;
    private ClusterServers clusterServers;
    private String redisUrl;
    private String bootstrap;
    private Node node;
    private SimpleMeterRegistry meters;
    private Path childConfig;
    private Path workerJar;
    private Map<String, String> childEnv;

    /** Base worker slots; a slot's process is replaced when it dies. Guarded by {@link #poolLock}. */
    private final List<WorkerProcess> pool = new ArrayList<>();

    private final ReentrantLock poolLock = new ReentrantLock();
    private final List<WorkerProcess> allWorkers = new CopyOnWriteArrayList<>();
    private final AtomicInteger workerSeq = new AtomicInteger();
    /** Pid to the moment (nanos) it was killed, by us or by a JVM-halting job. */
    final Map<Long, Long> killedPids = new ConcurrentHashMap<>();

    final AtomicInteger diedOnTheirOwn = new AtomicInteger();

    /** Producer state. */
    final String[] okJids;

    final AtomicInteger rejectedCalls = new AtomicInteger();
    final Latencies calm = new Latencies();
    final Latencies duringFaults = new Latencies();
    final Map<FaultKind, Latencies> byKind = new EnumMap<>(FaultKind.class);
    final AtomicInteger produced = new AtomicInteger();

    /** Jobs that must end dead (poison, unknown class, JVM-halting), by jid, with what they were. */
    final Map<String, String> expectedDead = new ConcurrentHashMap<>();
    /** Markers inside malformed payloads, with where they were written. */
    final Map<String, String> malformed = new ConcurrentHashMap<>();
    /** Slow jobs put in flight right before a Redis outage, by jid: each must run exactly once. */
    final Map<String, String> outageJobs = new ConcurrentHashMap<>();
    /** Jobs a worker killed during a Redis outage left in its in-progress lists, by jid: each must run. */
    final Map<String, String> orphans = new ConcurrentHashMap<>();

    final List<FaultEvent> faults = new CopyOnWriteArrayList<>();
    private volatile FaultEvent current;
    private final ReentrantLock flagsLock = new ReentrantLock();
    private volatile FlagsFile.Settings lastFlags = new FlagsFile.Settings(50, false, 0);
    final AtomicInteger flagChanges = new AtomicInteger();
    private volatile boolean stopping;
    private int brokerRestarts;

    public Drill(DrillSettings settings, PrintWriter out) {
        this.settings = settings;
        this.out = out;
        this.random = new Random(settings.seed());
        this.okJids = new String[settings.jobs()];
        for (FaultKind k : FaultKind.values()) {
            byKind.put(k, new Latencies());
        }
    }

    /** Runs the whole drill and returns its accounting. Servers and worker processes are gone when it returns. */
    public DrillReport run() throws Exception {
        dir = Files.createTempDirectory("crossfade-drill-");
        boolean keep = false;
        try {
            if (settings.cluster()) {
                say("starting Redis with Sentinel (master, replica, 3 sentinels) and a three-node Kafka cluster "
                        + "(replication 3, min.insync.replicas 2) in " + dir);
                clusterServers = ClusterServers.start(settings.partitions());
                redisUrl = clusterServers.redisUrl();
                bootstrap = clusterServers.bootstrapServers();
            } else {
                say("starting Redis (AOF, fsync always) and a Kafka broker in " + dir);
                redisServer = LocalRedis.builder()
                        .appendOnly(true)
                        .fsyncAlways(true)
                        .maxmemoryPolicy("noeviction")
                        .build()
                        .start();
                kafkaServer = LocalKafka.builder()
                        .partitions(settings.partitions())
                        .build()
                        .start();
                redisUrl = redisServer.uri().toString();
                bootstrap = kafkaServer.bootstrapServers();
            }
            configure();
            meters = new SimpleMeterRegistry();
            node = Node.start(CrossfadeConfig.load(childConfig, Map.of()), meters);
            node.flagsFile().write(lastFlags);
            warmUp();
            startWorkers();
            DrillReport report = exercise();
            keep = report.lost() > 0;
            return report;
        } finally {
            stopping = true;
            for (WorkerProcess w : allWorkers) {
                if (w.isAlive()) {
                    w.sigkill();
                }
            }
            if (node != null) {
                node.close();
            }
            if (kafkaServer != null) {
                kafkaServer.close();
            }
            if (redisServer != null) {
                redisServer.close();
            }
            if (clusterServers != null) {
                clusterServers.close();
            }
            if (keep) {
                say("worker logs kept in " + dir);
            } else {
                deleteQuietly(dir);
            }
        }
    }

    /** The YAML every process reads, the drill-only worker jar, and the children's environment. */
    private void configure() throws IOException {
        childConfig = dir.resolve("crossfade.yml");
        Files.writeString(childConfig, """
                redis:
                  url: %s
                  namespace: "%s"
                  # Short, so the Redis outage fault can outlast it; beats every 1 s.
                  heartbeat-ttl: %ds
                %s
                kafka:
                  bootstrap: %s
                  topic-prefix: %s
                  partitions: %d
                  # The drill SIGKILLs workers: their partitions move after 6 s instead of the broker's default 45 s.
                  session-timeout: 6s
                %s
                flags:
                  file: %s
                  start-wait: 2s
                router:
                  kafka-timeout: 1s
                workers:
                  queues: [%s]
                  backends: [redis, kafka]
                  concurrency: %d
                  shutdown-timeout: 10s
                  # Drill jobs take microseconds: a short claim lets the copy of a job whose worker was killed run soon.
                  run-once-lease: 15s
                http:
                  port: 0
                """.formatted(
                        redisUrl,
                        namespace,
                        heartbeatTtl().toSeconds(),
                        // An acknowledged enqueue (and outcome) is on the replica too, so the failover keeps it.
                        settings.cluster() ? "  wait-replicas: 1" : "",
                        bootstrap,
                        topicPrefix,
                        settings.partitions(),
                        settings.cluster() ? "  replication: 3" : "",
                        dir.resolve("flags.json"),
                        QUEUE,
                        settings.concurrency()));
        workerJar = dir.resolve("drill-workers.jar");
        try (JarOutputStream jar = new JarOutputStream(Files.newOutputStream(workerJar))) {
            jar.putNextEntry(new JarEntry("META-INF/services/dev.crossfade.api.worker.WorkerProvider"));
            jar.write((DrillWorkers.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
        }
        childEnv = new HashMap<>();
        childEnv.put(DrillWorkers.REDIS_URL_ENV, redisUrl);
        childEnv.put(DrillWorkers.NAMESPACE_ENV, namespace);
        if (settings.cluster()) {
            childEnv.put(DrillWorkers.WAIT_ENV, "1");
        }
    }

    /** One job on Kafka before the clock starts, so the topics exist before the workers subscribe. */
    private void warmUp() {
        Job probe = Job.builder("drill.NoSuchWorker").retry(0).build();
        node.kafka().queue().enqueue(probe);
        expectedDead.put(probe.jid(), "unknown class (warm-up, creates the topics)");
    }

    private WorkerProcess spawn(String name) {
        // The YAML names everything; inherited CROSSFADE_* variables would override it, so they are dropped.
        Map<String, String> env = new HashMap<>(childEnv);
        WorkerProcess w = WorkerProcess.start(name, childConfig, workerJar, dir, env);
        allWorkers.add(w);
        return w;
    }

    private WorkerProcess spawnChecked(String name) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            WorkerProcess w = spawn(name + (attempt > 1 ? "-try" + attempt : ""));
            if (w.awaitReady(WORKER_START)) {
                return w;
            }
            if (attempt == 3 || stopping) {
                throw new IllegalStateException("worker " + w + " did not start; see " + w.log());
            }
            log.warn("worker {} did not start; trying again", w);
            w.sigkill();
        }
    }

    private void startWorkers() throws Exception {
        say("starting " + settings.workers() + " worker processes (crossfade work)");
        ExecutorService ex = Executors.newFixedThreadPool(settings.workers());
        try {
            List<Future<WorkerProcess>> started = new ArrayList<>();
            for (int i = 0; i < settings.workers(); i++) {
                String name = "worker-" + workerSeq.incrementAndGet();
                started.add(ex.submit(() -> spawnChecked(name)));
            }
            for (Future<WorkerProcess> f : started) {
                pool.add(f.get());
            }
        } finally {
            ex.shutdown();
        }
    }

    private DrillReport exercise() throws Exception {
        double seconds = (double) settings.jobs() / settings.rate();
        say(String.format(
                "producing %,d jobs at %d/s (%.0f s) with %d faults over %s",
                settings.jobs(), settings.rate(), seconds, settings.faults(), settings.kinds()));
        List<Thread> threads = new ArrayList<>();
        long start = System.nanoTime();
        threads.add(daemon("drill-monitor", this::monitor));
        threads.add(daemon("drill-flags", () -> flipFlags(start, seconds)));
        threads.add(daemon("drill-watchdog", this::watchdog));
        Thread faultThread = daemon("drill-faults", () -> injectFaults(start, seconds));
        ExecutorService producers = Executors.newFixedThreadPool(settings.producerThreads());
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < settings.producerThreads(); i++) {
            done.add(producers.submit(() -> produce(next, start)));
        }
        while (!allDone(done)) {
            progress("producing");
            Thread.sleep(2000);
        }
        for (Future<?> f : done) {
            f.get();
        }
        producers.shutdown();
        faultThread.join();
        DrillReport report = drain();
        stopping = true;
        threads.forEach(Thread::interrupt);
        return report;
    }

    private static boolean allDone(List<Future<?>> fs) {
        return fs.stream().allMatch(Future::isDone);
    }

    private Thread daemon(String name, Runnable body) {
        Thread t = new Thread(
                () -> {
                    try {
                        body.run();
                    } catch (RuntimeException e) {
                        if (!stopping) {
                            log.error("{} failed", name, e);
                        }
                    }
                },
                name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    // ---- producer -------------------------------------------------------------------------------------------------

    /** Enqueues through the router at the configured rate; every call's duration goes to a bucket. */
    private void produce(AtomicInteger next, long start) {
        int n;
        while ((n = next.getAndIncrement()) < settings.jobs()) {
            long due = start + (long) (n * 1e9 / settings.rate());
            sleepUntil(due);
            Job job = Job.builder(DrillWorkers.LEDGER)
                    .args(n)
                    .routingKey("account-" + (n % 2000))
                    .build();
            FaultEvent during = current;
            long a = System.nanoTime();
            enqueueUntilAccepted(job);
            long took = System.nanoTime() - a;
            FaultEvent after = current;
            FaultEvent f = during != null ? during : after;
            (f != null ? duringFaults : calm).record(took);
            if (f != null) {
                byKind.get(f.kind).record(took);
            }
            okJids[n] = job.jid();
            produced.incrementAndGet();
        }
    }

    /** As an application would: a rejected enqueue (no backend accepted it) is tried again with the same jid. */
    private void enqueueUntilAccepted(Job job) {
        for (int attempt = 1; ; attempt++) {
            try {
                node.router().enqueue(job);
                return;
            } catch (RuntimeException e) {
                rejectedCalls.incrementAndGet();
                if (attempt >= 600) {
                    throw e;
                }
                sleep(100);
            }
        }
    }

    // ---- flags ----------------------------------------------------------------------------------------------------

    /** Moves the route flag every few hundred milliseconds; shadow copies during the middle third of the run. */
    private void flipFlags(long start, double seconds) {
        while (!stopping && produced.get() < settings.jobs()) {
            double elapsed = (System.nanoTime() - start) / 1e9;
            double shadow = elapsed > seconds / 3 && elapsed < 2 * seconds / 3 ? 50 : 0;
            FlagsFile.Settings s =
                    new FlagsFile.Settings(ROUTE_PERCENTS[random.nextInt(ROUTE_PERCENTS.length)], false, shadow);
            flagsLock.lock();
            try {
                node.flagsFile().write(s);
                lastFlags = s;
                flagChanges.incrementAndGet();
            } finally {
                flagsLock.unlock();
            }
            sleep(200 + random.nextInt(300));
        }
    }

    // ---- monitor and watchdog -------------------------------------------------------------------------------------

    private double fallbacks() {
        return Search.in(meters).name("crossfade.router.fallbacks").counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }

    /** Samples fallbacks and the breaker every 5 ms, stamping the open fault's reaction times. */
    private void monitor() {
        while (!stopping) {
            FaultEvent f = current;
            if (f != null) {
                long now = System.nanoTime();
                if (f.firstFallbackNanos < 0 && fallbacks() > f.fallbacksBefore) {
                    f.firstFallbackNanos = now;
                }
                if (f.breakerOpenNanos < 0
                        && !f.openBefore
                        && node.router().kafkaBreakerState() == CircuitBreaker.State.OPEN) {
                    f.breakerOpenNanos = now;
                }
            }
            sleep(5);
        }
    }

    /** Starts a base worker and puts it in {@code slot} of the pool. */
    private WorkerProcess replaceWorker(int slot) throws InterruptedException {
        WorkerProcess w = spawnChecked("worker-" + workerSeq.incrementAndGet());
        poolLock.lock();
        try {
            pool.set(slot, w);
        } finally {
            poolLock.unlock();
        }
        return w;
    }

    /** Replaces base workers that died without the drill killing them (a JVM-halting job does that). */
    private void watchdog() {
        while (!stopping) {
            List<Integer> dead = new ArrayList<>();
            poolLock.lock();
            try {
                for (int i = 0; i < pool.size(); i++) {
                    WorkerProcess w = pool.get(i);
                    if (!w.isAlive() && !killedPids.containsKey(w.pid())) {
                        killedPids.put(w.pid(), System.nanoTime());
                        diedOnTheirOwn.incrementAndGet();
                        log.warn("worker {} died on its own; starting a replacement", w);
                        dead.add(i);
                    }
                }
            } finally {
                poolLock.unlock();
            }
            for (int i : dead) {
                try {
                    replaceWorker(i);
                } catch (InterruptedException e) {
                    return;
                }
            }
            sleep(500);
        }
    }

    // ---- faults ---------------------------------------------------------------------------------------------------

    private void injectFaults(long start, double seconds) {
        long spacing = (long) (seconds * 1e9 / (settings.faults() + 1));
        long lastEnd = start;
        for (int i = 0; i < settings.faults(); i++) {
            FaultKind kind = settings.kinds().get(i % settings.kinds().size());
            sleepUntil(Math.max(start + (i + 1) * spacing, lastEnd + TimeUnit.SECONDS.toNanos(1)));
            FaultEvent f = new FaultEvent(
                    kind,
                    System.nanoTime(),
                    fallbacks(),
                    node.router().kafkaBreakerState() == CircuitBreaker.State.OPEN);
            faults.add(f);
            current = f;
            try {
                inject(f, i);
                f.happened = true;
            } catch (Exception e) {
                f.detail += " FAILED: " + e;
                log.error("fault {} failed", kind, e);
            } finally {
                f.endNanos = System.nanoTime();
                current = null;
                lastEnd = f.endNanos;
            }
            say(String.format(
                    "fault %d/%d at %5.1fs: %-26s %s (%d ms)",
                    i + 1,
                    settings.faults(),
                    rel(f.startNanos),
                    kind.label(),
                    f.detail,
                    TimeUnit.NANOSECONDS.toMillis(f.endNanos - f.startNanos)));
        }
    }

    private void inject(FaultEvent f, int index) throws Exception {
        switch (f.kind) {
            case WORKER_SIGKILL -> {
                int slot;
                WorkerProcess victim;
                poolLock.lock();
                try {
                    slot = random.nextInt(pool.size());
                    victim = pool.get(slot);
                    killedPids.put(victim.pid(), System.nanoTime());
                    victim.sigkill();
                } finally {
                    poolLock.unlock();
                }
                WorkerProcess replacement = replaceWorker(slot);
                f.detail = "killed " + victim + ", replaced by " + replacement;
            }
            case BROKER_PAUSE -> {
                kafkaServer.pause();
                sleep(3000);
                kafkaServer.resume();
                f.detail = "broker frozen 3 s";
            }
            case BROKER_RESTART -> {
                boolean kill = brokerRestarts++ % 2 == 0;
                if (kill) {
                    kafkaServer.kill();
                } else {
                    kafkaServer.stop();
                }
                kafkaServer.start();
                f.detail = (kill ? "SIGKILL" : "SIGTERM") + ", restarted on the same data";
            }
            case REDIS_RESTART -> {
                redisServer.kill();
                sleep(500);
                redisServer.start();
                f.detail = "SIGKILL, restarted from the AOF";
            }
            case CONSUMER_JOIN_LEAVE -> {
                WorkerProcess extra = spawnChecked("joiner-" + workerSeq.incrementAndGet());
                sleep(3000);
                boolean clean = extra.sigterm(Duration.ofSeconds(30));
                f.detail = extra + " joined, worked 3 s, left " + (clean ? "cleanly" : "(SIGKILL after 30 s)");
            }
            case MALFORMED_PAYLOAD -> {
                String redisMarker = "drill-malformed-redis-" + index;
                String kafkaMarker = "drill-malformed-kafka-" + index;
                byte[] queueKey = node.redis().key("queue:" + QUEUE).getBytes(StandardCharsets.UTF_8);
                node.redis().redis().lpush(queueKey, garbage(redisMarker));
                try (KafkaProducer<byte[], byte[]> p = rawProducer()) {
                    p.send(new ProducerRecord<>(topicPrefix + "." + QUEUE, garbage(kafkaMarker)))
                            .get(30, TimeUnit.SECONDS);
                }
                malformed.put(redisMarker, "redis");
                malformed.put(kafkaMarker, "kafka");
                f.detail = "raw bytes on the Redis queue and the Kafka topic";
            }
            case POISON_JOB -> {
                Job poison = Job.builder(DrillWorkers.POISON).args(index).build();
                // retry: 0 sends an unknown class straight to dead, as in Sidekiq; it would otherwise be retried.
                Job unknown =
                        Job.builder("drill.NoSuchWorker").args(index).retry(0).build();
                enqueueUntilAccepted(poison);
                enqueueUntilAccepted(unknown);
                expectedDead.put(poison.jid(), "always throws");
                expectedDead.put(unknown.jid(), "unknown class");
                f.detail = "jids " + poison.jid() + " (throws), " + unknown.jid() + " (unknown class)";
            }
            case FLAGS_GARBAGE -> {
                flagsLock.lock();
                try {
                    Files.writeString(node.flagsFile().path(), "{\"flags\": [ this is not json");
                    sleep(2000);
                    node.flagsFile().write(lastFlags);
                } finally {
                    flagsLock.unlock();
                }
                f.detail = "garbage for 2 s, then restored";
            }
            case REDIS_OUTAGE -> redisOutage(f);
            case LEADER_KILL -> f.detail = clusterServers.killLeader(jobsTopic(), busiest(), settings.partitions());
            case NODE_PAUSE -> f.detail = clusterServers.pauseLeader(jobsTopic(), busiest(), settings.partitions());
            case FOLLOWER_RESTART ->
                f.detail = clusterServers.restartFollower(jobsTopic(), busiest(), settings.partitions());
            case REDIS_FAILOVER -> f.detail = clusterServers.failOverRedis();
            case SENTINEL_RESTART -> f.detail = clusterServers.restartSentinel();
            case HALT_POISON -> {
                Job halt = Job.builder(DrillWorkers.HALT).args(index).build();
                node.redis().queue().enqueue(halt);
                expectedDead.put(halt.jid(), "halts its JVM");
                f.detail = "jid " + halt.jid() + " on the Redis queue";
            }
            default -> throw new IllegalStateException("unknown fault " + f.kind);
        }
    }

    private String jobsTopic() {
        return topicPrefix + "." + QUEUE;
    }

    /** The partition of the jobs topic with the most lag now. */
    private int busiest() {
        return ClusterServers.busiest(node.kafka().admin().lag(QUEUE));
    }

    /** {@code redis.heartbeat-ttl} of the workers. */
    Duration heartbeatTtl() {
        return settings.cluster() ? CLUSTER_HEARTBEAT_TTL : HEARTBEAT_TTL;
    }

    /**
     * Redis frozen for longer than the heartbeat TTL while slow jobs are in flight on every worker process, and one
     * worker SIGKILLed while the others are cut off. Afterwards the live processes must keep their jobs (each slow job
     * runs once) and the killed one's in-progress jobs must be recovered by a peer.
     */
    private void redisOutage(FaultEvent f) throws Exception {
        Duration outage = HEARTBEAT_TTL.plus(OUTAGE_MARGIN);
        // Two live processes besides the one killed, or no live process would be left to misjudge another.
        List<WorkerProcess> peers = new ArrayList<>();
        while (pool.size() + peers.size() < 3) {
            peers.add(spawnChecked("peer-" + workerSeq.incrementAndGet()));
        }
        // Jobs that outlast the outage: the live processes hold them, running, the whole time.
        List<String> slow = new ArrayList<>();
        for (int i = 0; i < (pool.size() + peers.size()) * 3; i++) {
            Job job = Job.builder(DrillWorkers.SLOW)
                    .args(outage.toMillis() + 3000)
                    .build();
            node.redis().queue().enqueue(job);
            slow.add(job.jid());
            outageJobs.put(job.jid(), "in flight across the Redis outage");
            sleep(20); // one at a time, so the fetchers of different processes take them
        }
        Map<String, String> holders = Map.of();
        long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < wait && (holders = inProgressHolders(slow)).size() < slow.size()) {
            sleep(100);
        }
        WorkerProcess victim;
        int slot;
        String victimIdentity;
        poolLock.lock();
        try {
            // The pool worker holding the most slow jobs, so the recovery has something to recover.
            Map<String, Long> held = new HashMap<>();
            holders.values().forEach(id -> held.merge(id, 1L, Long::sum));
            slot = random.nextInt(pool.size());
            long most = -1;
            for (int i = 0; i < pool.size(); i++) {
                long n = held.getOrDefault(identityOf(pool.get(i).pid(), held.keySet()), 0L);
                if (n > most) {
                    most = n;
                    slot = i;
                }
            }
            victim = pool.get(slot);
            victimIdentity = beatingIdentity(victim.pid());
        } finally {
            poolLock.unlock();
        }
        long stoppedAt = System.nanoTime();
        redisServer.pause();
        try {
            sleep(1000);
            poolLock.lock();
            try {
                killedPids.put(victim.pid(), System.nanoTime());
                victim.sigkill();
            } finally {
                poolLock.unlock();
            }
            sleepUntil(stoppedAt + outage.toNanos());
        } finally {
            redisServer.resume();
        }
        long resumedAt = System.nanoTime();
        // What the victim left: its in-progress lists, untouched since the freeze.
        List<String> left = victimIdentity == null ? List.of() : inProgressKeys(victimIdentity);
        int orphaned = 0;
        for (String key : left) {
            for (String payload : node.redis().redis().lrange(key, 0, -1)) {
                Matcher m = JID.matcher(payload);
                if (m.find()) {
                    orphans.put(m.group(1), victim.toString());
                    orphaned++;
                }
            }
        }
        // The replacement starts while the peers recover the victim: both take seconds.
        int freed = slot;
        CompletableFuture<WorkerProcess> replacing = CompletableFuture.supplyAsync(() -> {
            try {
                return replaceWorker(freed);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CompletionException(e);
            }
        });
        // Peers beat for a TTL after reconnecting before they judge anyone; then the sweep recovers the victim.
        long deadline =
                resumedAt + HEARTBEAT_TTL.multipliedBy(4).plusSeconds(30).toNanos();
        boolean recovered = victimIdentity == null;
        while (!recovered && System.nanoTime() < deadline) {
            // Recovery empties its lists and forgets its registration.
            recovered = inProgressKeys(victimIdentity).isEmpty()
                    && node.redis().redis().zscore(node.redis().key("crossfade:beats"), victimIdentity) == null;
            if (!recovered) {
                sleep(200);
            }
        }
        String took = String.format("%.1f", (System.nanoTime() - resumedAt) / 1e9);
        WorkerProcess replacement = replacing.get();
        for (WorkerProcess peer : peers) {
            peer.sigterm(Duration.ofSeconds(30));
        }
        f.detail = String.format(
                "Redis frozen %d s (heartbeat TTL %d s), %d slow jobs in flight on %d processes%s; "
                        + "%s SIGKILLed meanwhile holding %d in-progress jobs, %s; replaced by %s",
                outage.toSeconds(),
                HEARTBEAT_TTL.toSeconds(),
                slow.size(),
                pool.size() + peers.size(),
                peers.isEmpty() ? "" : " (with " + peers.size() + " extra for the fault)",
                victim,
                orphaned,
                victimIdentity == null
                        ? "not registered (nothing to recover)"
                        : recovered
                                ? "recovered " + took + " s after Redis was back"
                                : "NOT recovered within " + TimeUnit.NANOSECONDS.toSeconds(deadline - resumedAt) + " s",
                replacement);
    }

    /** For each jid found in an in-progress list, the identity of the process whose list it is. */
    private Map<String, String> inProgressHolders(List<String> jids) {
        Map<String, String> found = new HashMap<>();
        for (String key : inProgressKeys("*")) {
            String identity = key.substring(inProgressPrefix().length(), key.lastIndexOf('|'));
            for (String payload : node.redis().redis().lrange(key, 0, -1)) {
                Matcher m = JID.matcher(payload);
                if (m.find() && jids.contains(m.group(1))) {
                    found.put(m.group(1), identity);
                }
            }
        }
        return found;
    }

    private String inProgressPrefix() {
        return node.redis().key("crossfade:inprogress:");
    }

    /** In-progress list keys of a process identity ({@code *}: every process). */
    private List<String> inProgressKeys(String identity) {
        List<String> keys = new ArrayList<>();
        ScanParams params =
                new ScanParams().match(inProgressPrefix() + identity + "|*").count(500);
        String cursor = ScanParams.SCAN_POINTER_START;
        do {
            ScanResult<String> page = node.redis().redis().scan(cursor, params);
            keys.addAll(page.getResult());
            cursor = page.getCursor();
        } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        return keys;
    }

    /** The registered identity ({@code host:pid:nonce}) of a worker process, or null. */
    private String beatingIdentity(long pid) {
        return identityOf(pid, node.redis().redis().zrange(node.redis().key("crossfade:beats"), 0, -1));
    }

    private static String identityOf(long pid, java.util.Collection<String> identities) {
        for (String id : identities) {
            String[] parts = id.split(":");
            if (parts.length >= 3 && parts[parts.length - 2].equals(Long.toString(pid))) {
                return id;
            }
        }
        return null;
    }

    /** Bytes that are no job: an invalid UTF-8 prefix, the marker, and broken JSON. */
    private static byte[] garbage(String marker) {
        byte[] text = (" " + marker + " {\"class\": ").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[text.length + 2];
        out[0] = (byte) 0xC3;
        out[1] = (byte) 0x28;
        System.arraycopy(text, 0, out, 2, text.length);
        return out;
    }

    private KafkaProducer<byte[], byte[]> rawProducer() {
        Map<String, Object> p = new HashMap<>();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    }

    // ---- drain and accounting -------------------------------------------------------------------------------------

    private DrillReport drain() throws Exception {
        long deadline = System.nanoTime() + settings.drainTimeout().toNanos();
        String ledgerKey = BuiltInWorkers.ledgerKey(namespace);
        say("all jobs enqueued; waiting up to " + settings.drainTimeout().toSeconds() + " s for them to run or die");
        while (System.nanoTime() < deadline) {
            long unprocessed;
            try {
                Map<String, String> ledger = node.redis().redis().hgetAll(ledgerKey);
                unprocessed = java.util.stream.Stream.of(
                                Arrays.stream(okJids), outageJobs.keySet().stream(), orphans.keySet().stream())
                        .flatMap(x -> x)
                        .filter(j -> j != null && !ledger.containsKey(j))
                        .count();
            } catch (RuntimeException e) {
                unprocessed = -1;
            }
            if (unprocessed == 0) {
                Accounting.Dead dead = Accounting.readDead(node, QUEUE);
                if (expectedDead.keySet().stream().allMatch(dead.reasons()::containsKey)
                        && malformed.keySet().stream()
                                .allMatch(m -> dead.markers().containsKey(m))) {
                    break;
                }
            }
            progress("draining (" + unprocessed + " jobs not run yet)");
            Thread.sleep(2000);
        }
        say("stopping workers (SIGTERM)");
        stopping = true;
        poolLock.lock();
        try {
            for (WorkerProcess w : allWorkers) {
                if (w.isAlive()) {
                    w.sigterm(Duration.ofSeconds(20));
                }
            }
        } finally {
            poolLock.unlock();
        }
        return Accounting.account(this, node, namespace, topicPrefix, bootstrap, QUEUE);
    }

    List<WorkerProcess> workers() {
        return allWorkers;
    }

    DrillSettings settings() {
        return settings;
    }

    /** Seconds since the drill started. */
    double rel(long nanos) {
        return (nanos - t0) / 1e9;
    }

    private void progress(String what) {
        long alive = allWorkers.stream().filter(WorkerProcess::isAlive).count();
        say(String.format(
                "[%5.1fs] %s: enqueued %,d/%,d, faults %d/%d, workers alive %d, fallbacks %.0f, breaker %s",
                rel(System.nanoTime()),
                what,
                produced.get(),
                settings.jobs(),
                faults.size(),
                settings.faults(),
                alive,
                fallbacks(),
                node.router().kafkaBreakerState()));
    }

    private void say(String line) {
        synchronized (out) {
            out.println(line);
            out.flush();
        }
    }

    private static void sleepUntil(long nanos) {
        long wait = nanos - System.nanoTime();
        if (wait > 0) {
            try {
                TimeUnit.NANOSECONDS.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A temporary directory; the OS cleans it eventually.
        }
    }

    /** Count of faults that happened, by kind. */
    Map<FaultKind, Integer> injectedByKind() {
        Map<FaultKind, Integer> m = new LinkedHashMap<>();
        for (FaultEvent f : faults) {
            if (f.happened) {
                m.merge(f.kind, 1, Integer::sum);
            }
        }
        return m;
    }
}
