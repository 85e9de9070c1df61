package dev.crossfade.api.testing;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.api.worker.WorkerRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * An in-process backend for applications' own unit tests, in the spirit of Sidekiq's testing modes.
 *
 * <ul>
 *   <li>{@link Mode#FAKE}: enqueues are recorded; inspect them with {@link #jobs(String)} and run them with
 *   {@link #drain(ExecutionCore)}.</li>
 *   <li>{@link Mode#INLINE}: each enqueue runs its job at once on the caller's thread, and a failing job throws
 *   {@link InlineJobFailedException} to the caller.</li>
 * </ul>
 * Either mode can also run background {@link #workers workers}, which is how the contract suite exercises it like a
 * real backend. Payloads are stored encoded, so a job that could not cross a real backend fails here too.
 */
public final class InMemoryBackend {
    /** How enqueued jobs are handled. */
    public enum Mode {
        /** Record jobs; run them when the test asks. */
        FAKE,
        /** Run each job when it is enqueued. */
        INLINE
    }

    private final Mode mode;
    private final JobCodec codec;
    private final ExecutionCore inlineCore;
    private final Clock clock;
    private final Object lock = new Object();
    private final Map<String, Deque<byte[]>> queues = new TreeMap<>();
    private final PriorityQueue<Scheduled> scheduled =
            new PriorityQueue<>(Comparator.comparing(Scheduled::due).thenComparingLong(Scheduled::seq));
    private final List<Job> dead = new ArrayList<>();
    private final AtomicLong seq = new AtomicLong();

    private InMemoryBackend(Mode mode, JobCodec codec, ExecutionCore inlineCore, Clock clock) {
        this.mode = mode;
        this.codec = codec;
        this.inlineCore = inlineCore;
        this.clock = clock;
    }

    /** A backend that records jobs (Sidekiq's {@code Sidekiq::Testing.fake!}). */
    public static InMemoryBackend fake() {
        return new InMemoryBackend(Mode.FAKE, JobCodec.defaults(), null, Clock.systemUTC());
    }

    /** A backend that runs each job on enqueue (Sidekiq's {@code Sidekiq::Testing.inline!}). */
    public static InMemoryBackend inline(WorkerRegistry registry) {
        ExecutionCore core =
                ExecutionCore.builder(registry).defaultMaxRetries(0).build();
        return new InMemoryBackend(Mode.INLINE, core.codec(), core, Clock.systemUTC());
    }

    /** A recording backend with a specific codec (for payload-limit tests). */
    public static InMemoryBackend fake(JobCodec codec) {
        return new InMemoryBackend(Mode.FAKE, Objects.requireNonNull(codec, "codec"), null, Clock.systemUTC());
    }

    public Mode mode() {
        return mode;
    }

    /** The producer side. */
    public JobQueue queue() {
        return new Queue();
    }

    /** Jobs waiting in {@code queue}, oldest first. */
    public List<Job> jobs(String queue) {
        synchronized (lock) {
            Deque<byte[]> q = queues.get(queue);
            return q == null ? List.of() : q.stream().map(this::decodeQuietly).collect(Collectors.toList());
        }
    }

    /** Every job waiting in any queue, including scheduled and retrying ones. */
    public List<Job> allPending() {
        synchronized (lock) {
            List<Job> out = new ArrayList<>();
            queues.values().forEach(q -> q.forEach(p -> out.add(decodeQuietly(p))));
            scheduled.forEach(s -> out.add(decodeQuietly(s.payload)));
            return out;
        }
    }

    /** Scheduled and retrying jobs, soonest first. */
    public List<Job> scheduled() {
        synchronized (lock) {
            return scheduled.stream()
                    .sorted(scheduled.comparator())
                    .map(s -> decodeQuietly(s.payload))
                    .collect(Collectors.toList());
        }
    }

    /** The dead set. */
    public List<Job> dead() {
        synchronized (lock) {
            return List.copyOf(dead);
        }
    }

    /** Puts raw bytes on a queue, as a misbehaving producer would; for malformed-payload tests. */
    public void pushRaw(String queue, byte[] payload) {
        synchronized (lock) {
            queues.computeIfAbsent(queue, q -> new java.util.ArrayDeque<>()).addLast(payload);
            lock.notifyAll();
        }
    }

    /** Empties every queue, schedule and the dead set. */
    public void clear() {
        synchronized (lock) {
            queues.clear();
            scheduled.clear();
            dead.clear();
        }
    }

    /**
     * Runs queued jobs (and scheduled ones that are due) on the caller's thread until none is left; retries due later
     * stay scheduled. Returns how many jobs ran.
     */
    public int drain(ExecutionCore core) {
        int ran = 0;
        Fetched f;
        while ((f = poll(null)) != null) {
            settle(f, core.execute(f.payload, Backend.MEMORY, f.queue));
            ran++;
        }
        return ran;
    }

    /** Background workers over the given queues (all queues when empty), as a real backend's worker process would run. */
    public WorkerRuntime workers(ExecutionCore core, Collection<String> queues, int concurrency) {
        return new Workers(core, queues == null ? Set.of() : Set.copyOf(queues), concurrency);
    }

    private Job decodeQuietly(byte[] payload) {
        try {
            return codec.decode(payload);
        } catch (RuntimeException e) {
            return ExecutionCore.invalidPayloadEnvelope(payload, null, e, clock.instant());
        }
    }

    private void push(Job job, Instant at) {
        Instant now = clock.instant();
        if (at != null && at.isAfter(now)) {
            byte[] payload = codec.encode(job.toBuilder().at(at).build());
            synchronized (lock) {
                scheduled.add(new Scheduled(at, seq.incrementAndGet(), job.queue(), payload));
                lock.notifyAll();
            }
            return;
        }
        byte[] payload = codec.encode(job.toBuilder().at(null).enqueuedAt(now).build());
        if (mode == Mode.INLINE) {
            Outcome o = inlineCore.execute(payload, Backend.MEMORY, job.queue());
            if (o instanceof Outcome.Retry r) {
                throw new InlineJobFailedException(job, r.error());
            }
            if (o instanceof Outcome.Dead d) {
                throw new InlineJobFailedException(job, d.error());
            }
            return;
        }
        pushRaw(job.queue(), payload);
    }

    /** Moves due scheduled jobs to their queues, then takes the next job from the wanted queues. */
    private Fetched poll(Set<String> wanted) {
        synchronized (lock) {
            Instant now = clock.instant();
            while (!scheduled.isEmpty() && !scheduled.peek().due.isAfter(now)) {
                Scheduled s = scheduled.poll();
                Job job = decodeQuietly(s.payload);
                byte[] ready =
                        codec.encode(job.toBuilder().at(null).enqueuedAt(now).build());
                queues.computeIfAbsent(s.queue, q -> new java.util.ArrayDeque<>())
                        .addLast(ready);
            }
            for (Map.Entry<String, Deque<byte[]>> e : queues.entrySet()) {
                if ((wanted == null || wanted.isEmpty() || wanted.contains(e.getKey()))
                        && !e.getValue().isEmpty()) {
                    return new Fetched(e.getKey(), e.getValue().pollFirst());
                }
            }
            return null;
        }
    }

    private void settle(Fetched f, Outcome outcome) {
        synchronized (lock) {
            if (outcome instanceof Outcome.Retry r) {
                scheduled.add(new Scheduled(r.dueAt(), seq.incrementAndGet(), f.queue, codec.encode(r.job())));
            } else if (outcome instanceof Outcome.Dead d) {
                dead.add(d.job());
            }
        }
    }

    private void requeueFront(Fetched f) {
        synchronized (lock) {
            queues.computeIfAbsent(f.queue, q -> new java.util.ArrayDeque<>()).addFirst(f.payload);
            lock.notifyAll();
        }
    }

    private record Scheduled(Instant due, long seq, String queue, byte[] payload) {}

    private record Fetched(String queue, byte[] payload) {}

    private final class Queue implements JobQueue {
        private volatile boolean closed;

        @Override
        public String enqueue(Job job) {
            checkOpen();
            push(job, null);
            return job.jid();
        }

        @Override
        public List<String> enqueueAll(List<Job> jobs) {
            checkOpen();
            List<String> jids = new ArrayList<>(jobs.size());
            for (Job j : jobs) {
                // A job whose at is in the future is scheduled, as on Redis and Kafka.
                push(j, j.at());
                jids.add(j.jid());
            }
            return jids;
        }

        /** Nothing here waits, so only a limit already spent is exceeded. */
        @Override
        public List<String> enqueueAll(List<Job> jobs, java.time.Duration limit) {
            checkOpen();
            EnqueueTimeoutException.deadline(Backend.MEMORY, limit, jobs.size());
            return enqueueAll(jobs);
        }

        @Override
        public String enqueueAt(Job job, Instant at) {
            checkOpen();
            push(job, at);
            return job.jid();
        }

        @Override
        public void close() {
            closed = true;
        }

        private void checkOpen() {
            if (closed) {
                throw new EnqueueException(Backend.MEMORY, "queue is closed");
            }
        }
    }

    private final class Workers implements WorkerRuntime {
        private final ExecutionCore core;
        private final Set<String> wanted;
        private final int concurrency;
        private final AtomicBoolean running = new AtomicBoolean();
        private final Map<Thread, Fetched> inFlight = new ConcurrentHashMap<>();
        private final Set<Fetched> abandoned = ConcurrentHashMap.newKeySet();
        private final List<Thread> threads = new ArrayList<>();

        Workers(ExecutionCore core, Set<String> wanted, int concurrency) {
            if (concurrency < 1) {
                throw new IllegalArgumentException("concurrency must be >= 1, got " + concurrency);
            }
            this.core = core;
            this.wanted = Set.copyOf(wanted);
            this.concurrency = concurrency;
        }

        @Override
        public void start() {
            if (!running.compareAndSet(false, true)) {
                return;
            }
            for (int i = 0; i < concurrency; i++) {
                Thread t = new Thread(this::loop, "crossfade-memory-worker-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        private void loop() {
            while (running.get()) {
                Fetched f = poll(wanted);
                if (f == null) {
                    synchronized (lock) {
                        try {
                            // Woken by enqueues; the timeout lets scheduled jobs come due.
                            lock.wait(20);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                    continue;
                }
                inFlight.put(Thread.currentThread(), f);
                Outcome o = core.execute(f.payload, Backend.MEMORY, f.queue);
                inFlight.remove(Thread.currentThread());
                if (!abandoned.remove(f)) {
                    settle(f, o);
                }
            }
        }

        @Override
        public boolean stop(Duration timeout) {
            running.set(false);
            long deadline = System.nanoTime() + timeout.toNanos();
            boolean clean = true;
            for (Thread t : threads) {
                try {
                    t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                Fetched f = inFlight.get(t);
                if (t.isAlive() && f != null) {
                    // Too slow: give the job back so it runs again; its late outcome is ignored.
                    clean = false;
                    abandoned.add(f);
                    requeueFront(f);
                    t.interrupt();
                }
            }
            threads.clear();
            return clean;
        }

        @Override
        public void close() {
            stop(Duration.ofSeconds(25));
        }
    }
}
