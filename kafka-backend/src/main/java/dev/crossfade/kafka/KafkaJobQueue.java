package dev.crossfade.kafka;

import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.EnqueueTimeoutException;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.kafka.internal.Hdr;
import dev.crossfade.kafka.internal.OutcomeWriter;
import dev.crossfade.kafka.internal.RecordSize;
import dev.crossfade.kafka.internal.Threads;
import dev.crossfade.kafka.internal.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The producer role: puts jobs on Kafka. Obtain one from {@link KafkaBackend#queue()}; it shares the backend's
 * idempotent producers ({@code acks=all} by default: one that sends at once, for single jobs, and one for batches,
 * which lingers until the call has sent its jobs and flushes it; calls with a time limit have batch producers of their
 * own, see {@link #enqueueAll(List, Duration)}), so it is cheap and thread-safe.
 *
 * <p>Each queue is a topic {@code <prefix>.<queue>}, created on first use (or required to exist in strict mode). The
 * value is the Sidekiq job JSON, as on Redis, with {@code enqueued_at} set; the key is the job's routing key, else its
 * jid (so a routing key keeps an account's jobs on one partition, in order); headers {@code class}, {@code jid} and
 * {@code attempt} let tools route and inspect without parsing JSON. Every method returns only after the broker's ack
 * (or, for {@link #enqueueAllAsync}, a future that completes on it): anything else is an {@link EnqueueException}
 * naming the topic. Scheduled jobs ({@link #enqueueAt}, or a job whose {@code at} is in the future) go to the delay
 * tiers ({@link KafkaBackendConfig}).
 *
 * <p>A job whose record would not leave room, within the producers' {@code max.request.size}, for the error fields a
 * failed run adds is refused before anything is sent, with a {@link dev.crossfade.api.codec.PayloadTooLargeException}
 * (so its retry or dead letter can always be stored).
 */
public final class KafkaJobQueue implements JobQueue {
    private final Producer<byte[], byte[]> producer;
    private final Producer<byte[], byte[]> bulkProducer;
    /** Per time limit, a batch producer whose own timeouts keep a call within it; see {@link #enqueueAll(List, Duration)}. */
    private final Function<Duration, Producer<byte[], byte[]>> boundedProducers;

    private final Topics topics;
    private final OutcomeWriter delays;
    private final JobCodec codec;
    private final RecordSize sizes;
    private final Duration timeout;
    /** Flushes the bulk producer for enqueueAllAsync, whose caller must not block; at most one flush waits to run. */
    private final ExecutorService flusher = Threads.pool("crossfade-kafka-flush", 1);

    private final AtomicBoolean flushQueued = new AtomicBoolean();
    /** Topics the unlingering producer lately wrote to promptly; see {@link #enqueueAll(List, Duration)}. */
    private final PromptTopics prompt = new PromptTopics();

    private volatile boolean closed;

    KafkaJobQueue(
            Producer<byte[], byte[]> producer,
            Producer<byte[], byte[]> bulkProducer,
            Function<Duration, Producer<byte[], byte[]>> boundedProducers,
            Topics topics,
            OutcomeWriter delays,
            JobCodec codec,
            RecordSize sizes,
            Duration timeout) {
        this.producer = producer;
        this.bulkProducer = bulkProducer;
        this.boundedProducers = boundedProducers;
        this.topics = topics;
        this.delays = delays;
        this.codec = codec;
        this.sizes = sizes;
        // The producer's delivery.timeout.ms equals the enqueue timeout, so the future always completes by then; the
        // margin only guards against a stuck client.
        this.timeout = timeout.plusSeconds(5);
    }

    @Override
    public String enqueue(Job job) {
        Objects.requireNonNull(job, "job");
        checkOpen();
        Send s = send(job);
        await(s, timeout);
        return job.jid();
    }

    @Override
    public List<String> enqueueAll(List<Job> jobs) {
        Objects.requireNonNull(jobs, "jobs");
        checkOpen();
        return sendAll(jobs, records(jobs, Long.MAX_VALUE), bulkProducer, System.nanoTime() + timeout.toNanos());
    }

    /**
     * Every wait counts against {@code limit}. A queue's topics are checked or created within the first half of it
     * (Admin calls bounded by what is left of that half). A batch then goes through a producer of this limit's own,
     * made on first use, whose Kafka timeouts fit in the other half: its {@code send} blocks for metadata or buffer room
     * at most half the limit ({@code max.block.ms}) and a record is given up after the other half
     * ({@code delivery.timeout.ms}); so this call can flush that producer on the caller's thread and still return by
     * the deadline. A single job to a topic this queue lately wrote to promptly leaves at once from the producer that
     * does not linger, which holds the topic's metadata, so its {@code send} does not block; only the wait for its ack
     * is bounded. Any other single job goes the batch way, and once it succeeded promptly the flusher thread fetches
     * the topic's metadata for the unlingering producer.
     */
    @Override
    public List<String> enqueueAll(List<Job> jobs, Duration limit) {
        Objects.requireNonNull(jobs, "jobs");
        checkOpen();
        long start = System.nanoTime();
        long deadline = EnqueueTimeoutException.deadline(Backend.KAFKA, limit, jobs.size());
        List<ProducerRecord<byte[], byte[]>> records = records(jobs, start + limit.toNanos() / 2);
        if (records.size() == 1 && prompt.isWarm(records.get(0).topic(), start)) {
            ProducerRecord<byte[], byte[]> r = records.get(0);
            try {
                awaitUntil(new Send(r.topic(), jobs.get(0).jid(), sendRaw(producer, r)), deadline);
            } catch (RuntimeException e) {
                prompt.cool(r.topic());
                throw e;
            }
            prompt.settled(r.topic(), start, limit);
            return List.of(jobs.get(0).jid());
        }
        List<String> jids;
        try {
            jids = sendAll(jobs, records, boundedProducers.apply(limit), deadline);
        } catch (RuntimeException e) {
            records.forEach(r -> prompt.cool(r.topic()));
            throw e;
        }
        if (records.size() == 1 && System.nanoTime() - start <= limit.toNanos() / 2) {
            warmUp(records.get(0).topic());
        }
        return jids;
    }

    /**
     * Sends the records through {@code via}, flushes it on this thread and waits for each ack until {@code deadline}
     * (System.nanoTime).
     */
    private List<String> sendAll(
            List<Job> jobs, List<ProducerRecord<byte[], byte[]>> records, Producer<byte[], byte[]> via, long deadline) {
        List<Send> sends = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            ProducerRecord<byte[], byte[]> r = records.get(i);
            sends.add(new Send(r.topic(), jobs.get(i).jid(), sendRaw(via, r)));
        }
        if (!sends.isEmpty()) {
            // The batch producers linger so that the batch leaves together: flush() sends it now (and whatever other
            // threads' calls buffered, which they were about to flush too).
            try {
                via.flush();
            } catch (org.apache.kafka.common.KafkaException e) {
                // Each send's own future reports what failed.
            }
        }
        List<String> jids = new ArrayList<>(jobs.size());
        EnqueueException first = null;
        int failed = 0;
        for (Send s : sends) {
            try {
                awaitUntil(s, deadline);
            } catch (EnqueueException e) {
                failed++;
                if (first == null) {
                    first = e;
                }
            }
            jids.add(s.jid);
        }
        if (first != null) {
            throw failure(
                    failed + " of " + jobs.size() + " jobs were not acknowledged; first: " + first.getMessage(),
                    first.getCause());
        }
        return jids;
    }

    /**
     * Sends jobs and returns at once with a future of their jids, in order, that completes when the broker has
     * acknowledged every one of them, or completes exceptionally with an {@link EnqueueException} naming the first
     * that it did not. Invalid jobs (too large, not encodable) are rejected by throwing, before anything is sent. The
     * call itself blocks only while the client has no room to buffer the records or no metadata for their topic (at
     * most {@code max.block.ms}).
     */
    public CompletableFuture<List<String>> enqueueAllAsync(List<Job> jobs) {
        Objects.requireNonNull(jobs, "jobs");
        checkOpen();
        List<ProducerRecord<byte[], byte[]>> records = records(jobs, Long.MAX_VALUE);
        List<String> jids = jobs.stream().map(Job::jid).toList();
        // A batch goes out together, as in enqueueAll; a single job leaves at once without a flush.
        Producer<byte[], byte[]> p = records.size() > 1 ? bulkProducer : producer;
        CompletableFuture<List<String>> all = new CompletableFuture<>();
        AtomicInteger pending = new AtomicInteger(records.size());
        for (int i = 0; i < records.size(); i++) {
            ProducerRecord<byte[], byte[]> r = records.get(i);
            String jid = jids.get(i);
            try {
                p.send(r, (meta, error) -> {
                    if (error != null) {
                        all.completeExceptionally(failure(
                                "job " + jid + " was not acknowledged by topic " + r.topic() + ": " + error, error));
                    } else if (pending.decrementAndGet() == 0) {
                        all.complete(jids);
                    }
                });
            } catch (RuntimeException e) {
                all.completeExceptionally(new EnqueueException(
                        Backend.KAFKA, "cannot send to topic " + r.topic() + ": " + e.getMessage(), e));
                break;
            }
        }
        if (records.isEmpty()) {
            all.complete(jids);
        } else if (p == bulkProducer) {
            flushSoon();
        }
        return all;
    }

    @Override
    public String enqueueAt(Job job, Instant at) {
        Objects.requireNonNull(job, "job");
        checkOpen();
        if (at == null || !at.isAfter(Instant.now())) {
            return enqueue(job);
        }
        String queue = ensure(job.queue(), Long.MAX_VALUE);
        Job scheduled = job.toBuilder().at(at).build();
        byte[] value = codec.encode(scheduled);
        ProducerRecord<byte[], byte[]> record =
                delays.scheduled(queue, key(scheduled), value, scheduled, at.toEpochMilli());
        sizes.checkEnqueue(job, record);
        Future<RecordMetadata> f;
        try {
            f = producer.send(record);
        } catch (RuntimeException e) {
            throw new EnqueueException(
                    Backend.KAFKA,
                    "cannot send scheduled job " + job.jid() + " to the delay " + "topics of " + topics.jobs(queue)
                            + ": " + e.getMessage(),
                    e);
        }
        await(
                new Send(
                        topics.delay(queue, topics.tierFor(at.toEpochMilli() - System.currentTimeMillis())),
                        job.jid(),
                        f),
                timeout);
        return job.jid();
    }

    /** Does not close the shared producers: {@link KafkaBackend#close()} does. Further enqueues fail. */
    @Override
    public void close() {
        closed = true;
        flusher.shutdown();
    }

    /**
     * Has the flusher thread fetch the unlingering producer's metadata for {@code topic} (which the bounded producer's
     * success says nothing of), then lets single jobs to it leave from that producer.
     */
    private void warmUp(String topic) {
        try {
            flusher.execute(() -> {
                try {
                    producer.partitionsFor(topic);
                    prompt.warm(topic);
                } catch (org.apache.kafka.common.KafkaException e) {
                    // Stays cold: the next single job takes the bounded producer again.
                }
            });
        } catch (RejectedExecutionException e) {
            // Closing.
        }
    }

    /**
     * Has the flusher thread flush the bulk producer. While a flush runs, the producer sends every batch at once, so
     * records sent meanwhile do not linger either; the flush queued behind it covers whatever is still buffered then.
     */
    private void flushSoon() {
        if (flushQueued.compareAndSet(false, true)) {
            try {
                flusher.execute(() -> {
                    flushQueued.set(false);
                    try {
                        bulkProducer.flush();
                    } catch (org.apache.kafka.common.KafkaException e) {
                        // Each send's callback reports what failed.
                    }
                });
            } catch (RejectedExecutionException e) {
                // Closing: closing the producer sends what it holds.
                flushQueued.set(false);
            }
        }
    }

    /**
     * Encodes everything first: an invalid job is rejected before anything is sent. Topic checks and creation end by
     * {@code ensureBy} (System.nanoTime; {@code Long.MAX_VALUE}: the backend's own timeout).
     */
    private List<ProducerRecord<byte[], byte[]>> records(List<Job> jobs, long ensureBy) {
        Set<String> queues = new HashSet<>();
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(jobs.size());
        Instant now = Instant.now();
        for (Job job : jobs) {
            Objects.requireNonNull(job, "job in list");
            if (queues.add(job.queue())) {
                ensure(job.queue(), ensureBy);
            }
            records.add(record(job, now));
        }
        return records;
    }

    private Send send(Job job) {
        ensure(job.queue(), Long.MAX_VALUE);
        ProducerRecord<byte[], byte[]> r = record(job, Instant.now());
        return new Send(r.topic(), job.jid(), sendRaw(producer, r));
    }

    private ProducerRecord<byte[], byte[]> record(Job job, Instant now) {
        if (job.at() != null && job.at().isAfter(now)) {
            byte[] value = codec.encode(job);
            ProducerRecord<byte[], byte[]> r =
                    delays.scheduled(job.queue(), key(job), value, job, job.at().toEpochMilli());
            sizes.checkEnqueue(job, r);
            return r;
        }
        byte[] value = codec.encodeEnqueued(job, now);
        byte[] jid = Hdr.bytes(job.jid());
        // Without a routing key the key is the jid: the header and the key share one array (neither is written to).
        byte[] key = job.routingKey() == null ? jid : key(job);
        // A shadow copy never reaches a consumer of the jobs topic that is not Crossfade (it would run it for real).
        String topic = job.shadow() ? topics.shadow(job.queue()) : topics.jobs(job.queue());
        ProducerRecord<byte[], byte[]> r =
                new ProducerRecord<>(topic, null, null, key, value, Hdr.jobHeaders(job, jid));
        sizes.checkEnqueue(job, r);
        return r;
    }

    private static Future<RecordMetadata> sendRaw(Producer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> r) {
        try {
            return producer.send(r);
        } catch (RuntimeException e) {
            // send() throws for a metadata or buffer timeout (max.block.ms) or a closed producer.
            throw failure("cannot send to topic " + r.topic() + ": " + e.getMessage(), e);
        }
    }

    private static byte[] key(Job job) {
        String k = job.routingKey() != null ? job.routingKey() : job.jid();
        return k.getBytes(StandardCharsets.UTF_8);
    }

    private String ensure(String queue, long by) {
        Topics.checkQueue(queue);
        try {
            topics.ensure(queue, by);
        } catch (Topics.TopicTimeoutException e) {
            throw new EnqueueTimeoutException(Backend.KAFKA, "topics of queue " + queue + ": " + e.getMessage(), e);
        } catch (Topics.MissingTopicException e) {
            throw new EnqueueException(Backend.KAFKA, e.getMessage(), e);
        } catch (IllegalStateException e) {
            throw new EnqueueException(
                    Backend.KAFKA, "topic " + topics.jobs(queue) + " unavailable: " + e.getMessage(), e);
        }
        return queue;
    }

    private void await(Send s, Duration wait) {
        awaitUntil(s, System.nanoTime() + wait.toNanos());
    }

    private void awaitUntil(Send s, long deadline) {
        long wait = deadline - System.nanoTime();
        try {
            if (wait <= 0 && !s.future.isDone()) {
                throw new TimeoutException();
            }
            s.future.get(Math.max(0, wait), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw failure(
                    "job " + s.jid + " was not acknowledged by topic " + s.topic + ": " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw failure(
                    "job " + s.jid + " was not acknowledged by topic " + s.topic + " in time (it may still arrive)", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new EnqueueException(
                    Backend.KAFKA,
                    "interrupted waiting for the ack of job " + s.jid + " on topic " + s.topic
                            + " (it may still arrive)",
                    e);
        }
    }

    /**
     * An {@link EnqueueTimeoutException} when {@code cause} is a timeout (ours, or the producer giving up at its
     * {@code max.block.ms} or {@code delivery.timeout.ms}), else an {@link EnqueueException}.
     */
    private static EnqueueException failure(String message, Throwable cause) {
        return cause instanceof TimeoutException || cause instanceof org.apache.kafka.common.errors.TimeoutException
                ? new EnqueueTimeoutException(Backend.KAFKA, message, cause)
                : new EnqueueException(Backend.KAFKA, message, cause);
    }

    private void checkOpen() {
        if (closed) {
            throw new EnqueueException(Backend.KAFKA, "queue is closed");
        }
    }

    private record Send(String topic, String jid, Future<RecordMetadata> future) {}

    /**
     * Topics whose single jobs may leave from the unlingering producer within a time limit: those it fetched metadata
     * for after a prompt call, or had acknowledged within half the limit, in the last minute (well inside the
     * producer's 5-minute metadata idle expiry), so it holds their metadata and its {@code send} does not block for it. A failure or a slow call forgets the topic, so on a
     * struggling broker the next single job takes the bounded producer, whose {@code send} blocks at most half the
     * limit.
     */
    private static final class PromptTopics {
        private static final long WARM_NANOS = 60_000_000_000L;
        private final java.util.Map<String, Long> lastPrompt = new java.util.concurrent.ConcurrentHashMap<>();

        boolean isWarm(String topic, long now) {
            Long at = lastPrompt.get(topic);
            return at != null && now - at <= WARM_NANOS;
        }

        void warm(String topic) {
            lastPrompt.put(topic, System.nanoTime());
        }

        void settled(String topic, long start, Duration limit) {
            if (System.nanoTime() - start <= limit.toNanos() / 2) {
                lastPrompt.put(topic, start);
            } else {
                lastPrompt.remove(topic);
            }
        }

        void cool(String topic) {
            lastPrompt.remove(topic);
        }
    }
}
