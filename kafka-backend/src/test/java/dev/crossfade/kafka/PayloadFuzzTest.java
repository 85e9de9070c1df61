package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.kafka.internal.KafkaRunner;
import dev.crossfade.tck.PayloadCorpus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Bad input never stops a worker: the hostile payload corpus (the 10 MB case included: the jobs topic takes 16 MiB
 * records here) and Kafka-level oddities (a null value, megabyte keys, junk headers) are produced raw, with a plain
 * producer, into a queue's topic, each followed by a good job on the same partition, while a worker runtime of 4
 * threads runs. Every good job and every case that decodes to a job runs exactly once (compared as a multiset of the
 * jobs run), every case that is not a job is in the DLQ with a reason (matched by its source partition and offset),
 * nothing else is, no thread died, the workers' progress reaches every partition's end (committed offsets in group
 * mode, share-partition start offsets in share mode), and the runtime still runs new jobs afterwards.
 */
@ExtendWith(CrossfadeServices.class)
class PayloadFuzzTest {
    private static final String WORKER = "FuzzWorker";
    private static final String QUEUE = "default";
    private static final int PARTITIONS = 3;
    private static final int BIG = 16 * 1024 * 1024;

    /** A raw record and where it must end. */
    private record Input(String name, byte[] key, byte[] value, List<RecordHeader> headers, PayloadCorpus.Fate fate) {}

    @ParameterizedTest
    @EnumSource(KafkaBackendConfig.Mode.class)
    void everyRecordEndsWhereItShouldAndTheWorkersGoOn(
            KafkaBackendConfig.Mode mode, KafkaService kafka, TestNamespace ns) throws Exception {
        String prefix = ns.value();
        List<Input> inputs = inputs();
        List<Throwable> uncaught = new CopyOnWriteArrayList<>();
        Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
        Thread.setDefaultUncaughtExceptionHandler((t, e) -> uncaught.add(new AssertionError(t.getName(), e)));
        try (KafkaBackend backend = KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, mode)
                .partitions(PARTITIONS)
                .build())) {
            backend.topics().ensure(QUEUE);
            String topic = backend.topics().jobs(QUEUE);
            allowBigRecords(backend, topic);

            Map<String, AtomicInteger> ran = new ConcurrentHashMap<>();
            WorkerRegistry registry = WorkerRegistry.builder()
                    .register(
                            WORKER,
                            (args, ctx) -> ran.computeIfAbsent(key(ctx.job()), k -> new AtomicInteger())
                                    .incrementAndGet())
                    .build();
            WorkerRuntime workers =
                    backend.workers(ExecutionCore.builder(registry).build(), Set.of(QUEUE), 4);
            workers.start();
            try {
                Map<String, Integer> expectedRuns = new TreeMap<>();
                Map<String, Input> byOffset = new HashMap<>();
                produce(kafka, topic, inputs, expectedRuns, byOffset);
                long dead = byOffset.values().stream()
                        .filter(i -> i.fate() == PayloadCorpus.Fate.DEAD)
                        .count();
                System.out.printf(
                        "%s fuzz: %d records, %d runs expected, %d dead expected%n",
                        mode,
                        byOffset.size(),
                        expectedRuns.values().stream()
                                .mapToInt(Integer::intValue)
                                .sum(),
                        dead);

                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (!counts(ran).equals(expectedRuns) && System.nanoTime() < deadline) {
                    Thread.sleep(500);
                }
                assertEquals("", difference(expectedRuns, counts(ran)), "jobs run (count) against expected");
                // Group mode: committed offsets at every partition's end. Share mode: the broker counts no record
                // unacknowledged (its start offset may stay behind records acknowledged out of order).
                java.util.function.Predicate<PartitionLag> done = mode == KafkaBackendConfig.Mode.GROUP
                        ? l -> l.committedOffset() == l.endOffset()
                        : l -> l.offsetLag() == 0;
                List<PartitionLag> lag = List.of();
                deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (System.nanoTime() < deadline) {
                    lag = backend.admin().lag(QUEUE);
                    if (lag.stream().allMatch(done)) {
                        break;
                    }
                    Thread.sleep(500);
                }
                List<PartitionLag> behind = lag.stream().filter(done.negate()).toList();
                assertEquals(
                        List.of(),
                        behind,
                        "records not acknowledged / committed, from: "
                                + byOffset.entrySet().stream()
                                        .filter(e -> behind.stream()
                                                .anyMatch(l ->
                                                        e.getKey().equals(l.partition() + "@" + l.committedOffset())))
                                        .map(e ->
                                                e.getKey() + " " + e.getValue().name())
                                        .toList());
                // The dead letters were written before their records were finished.
                Map<String, DeadLetter> dlq = new HashMap<>();
                for (DeadLetter d : backend.admin().deadLetters(QUEUE, 10_000)) {
                    dlq.put(
                            d.headers().get("source-partition") + "@"
                                    + d.headers().get("source-offset"),
                            d);
                }
                List<String> wrong = new ArrayList<>();
                byOffset.forEach((at, input) -> {
                    DeadLetter d = dlq.get(at);
                    if (input.fate() == PayloadCorpus.Fate.DEAD) {
                        String reason = d == null ? null : d.headers().get("error-message");
                        if (d == null
                                || reason == null
                                || reason.isBlank()
                                || d.job() == null
                                || d.job().errorMessage() == null
                                || d.job().errorMessage().isBlank()) {
                            wrong.add(input.name() + " at " + at + ": no dead letter with a reason (" + d + ")");
                        }
                    } else if (d != null) {
                        wrong.add(input.name() + " at " + at + ": dead-lettered, but it " + input.fate());
                    }
                });
                assertEquals(List.of(), wrong);
                assertEquals(dead, dlq.size(), "dead letters beyond the dead cases");

                assertEquals(List.of(), uncaught, "worker or poll threads died");
                // Poll threads are named <runner>[-<queue>]-poll...: one per queue's group in group mode.
                String runner = ((KafkaRunner) workers).name();
                assertTrue(
                        Thread.getAllStackTraces().keySet().stream()
                                .anyMatch(t -> t.getName().startsWith(runner)
                                        && t.getName().contains("-poll")
                                        && t.isAlive()),
                        "the poll loop runs");

                List<Job> after = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    after.add(Job.of(WORKER, "after-" + i));
                }
                backend.queue().enqueueAll(after);
                await("the runtime keeps working")
                        .atMost(Duration.ofSeconds(60))
                        .until(() -> ran.keySet().stream()
                                        .filter(k -> k.contains("\"after-"))
                                        .count()
                                == after.size());
                Map<String, Integer> runs = counts(ran);
                runs.keySet().removeIf(k -> k.contains("\"after-"));
                assertEquals(expectedRuns, runs, "a job ran twice");
                assertTrue(workers.stop(Duration.ofSeconds(20)), "a clean stop");
            } finally {
                workers.stop(Duration.ofSeconds(20));
            }
        } finally {
            Thread.setDefaultUncaughtExceptionHandler(before);
        }
    }

    /** The corpus, then records only Kafka can carry. */
    private static List<Input> inputs() {
        List<Input> inputs = new ArrayList<>();
        for (PayloadCorpus.Case c : PayloadCorpus.cases(WORKER, QUEUE, true)) {
            inputs.add(new Input(c.name(), null, c.payload(), List.of(), c.fate()));
        }
        byte[] good = JobCodec.defaults()
                .encode(Job.builder(WORKER)
                        .args("kafka-level")
                        .jid("kafkalevel000000000000001")
                        .build());
        byte[] notAJob = "{\"class\":\"FuzzWorker\",\"args\":7}".getBytes(StandardCharsets.UTF_8);
        byte[] megabyteKey = new byte[2 * 1024 * 1024];
        Arrays.fill(megabyteKey, (byte) 'k');
        inputs.add(new Input("null value", null, null, List.of(), PayloadCorpus.Fate.DEAD));
        // The dead letter would carry the source key: over max.request.size, so it goes as a truncated envelope.
        inputs.add(new Input("not a job, 2 MiB key", megabyteKey, notAJob, List.of(), PayloadCorpus.Fate.DEAD));
        inputs.add(new Input("a job, 2 MiB key", megabyteKey, good, List.of(), PayloadCorpus.Fate.RUNS));
        inputs.add(new Input(
                "a job, junk headers",
                "k".getBytes(StandardCharsets.UTF_8),
                good,
                List.of(
                        new RecordHeader("class", new byte[] {(byte) 0xFF, 0}),
                        new RecordHeader("attempt", "x".getBytes(StandardCharsets.UTF_8)),
                        new RecordHeader("crossfade-due", "1".getBytes(StandardCharsets.UTF_8)),
                        new RecordHeader("jid", (byte[]) null)),
                PayloadCorpus.Fate.RUNS));
        // A malformed job header is no header: the payload is decoded.
        for (String junk : List.of("x kafkalevel000000000000001 FuzzWorker", "1  FuzzWorker", "1 nojobclass", "")) {
            inputs.add(new Input(
                    "a job, job header '" + junk + "'",
                    "k".getBytes(StandardCharsets.UTF_8),
                    good,
                    List.of(new RecordHeader("crossfade-job", junk.getBytes(StandardCharsets.UTF_8))),
                    PayloadCorpus.Fate.RUNS));
        }
        inputs.add(new Input(
                "a job, null job header",
                "k".getBytes(StandardCharsets.UTF_8),
                good,
                List.of(new RecordHeader("crossfade-job", (byte[]) null)),
                PayloadCorpus.Fate.RUNS));
        return inputs;
    }

    /**
     * Produces every input, each followed by a good job on the same partition, and records what must run (jobs by
     * their encoding, counted) and what each offset holds.
     */
    private static void produce(
            KafkaService kafka,
            String topic,
            List<Input> inputs,
            Map<String, Integer> expected,
            Map<String, Input> byOffset)
            throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, BIG);
        props.put(ProducerConfig.BUFFER_MEMORY_CONFIG, 4L * BIG);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        try (KafkaProducer<byte[], byte[]> raw =
                new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer())) {
            List<Future<RecordMetadata>> sent = new ArrayList<>();
            List<Input> what = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                Input in = inputs.get(i);
                int partition = i % PARTITIONS;
                sent.add(raw.send(
                        new ProducerRecord<>(topic, partition, in.key(), in.value(), new ArrayList<>(in.headers()))));
                what.add(in);
                Job good = Job.of(WORKER, "good-" + i);
                byte[] encoded = JobCodec.defaults().encodeEnqueued(good, Instant.now());
                sent.add(raw.send(new ProducerRecord<>(topic, partition, null, encoded)));
                what.add(new Input("good-" + i, null, encoded, List.of(), PayloadCorpus.Fate.RUNS));
            }
            for (int i = 0; i < sent.size(); i++) {
                RecordMetadata m = sent.get(i).get(60, TimeUnit.SECONDS);
                Input in = what.get(i);
                byOffset.put(m.partition() + "@" + m.offset(), in);
                if (in.fate() == PayloadCorpus.Fate.RUNS) {
                    expected.merge(key(JobCodec.defaults().decode(in.value())), 1, Integer::sum);
                }
            }
        }
    }

    /** The topic holds records up to 16 MiB, so the corpus's 10 MB case reaches the workers. */
    private static void allowBigRecords(KafkaBackend backend, String topic) throws Exception {
        try (Admin admin = Admin.create(backend.clients().admin())) {
            admin.incrementalAlterConfigs(Map.of(
                            new ConfigResource(ConfigResource.Type.TOPIC, topic),
                            List.of(new AlterConfigOp(
                                    new ConfigEntry("max.message.bytes", Integer.toString(BIG)),
                                    AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        }
    }

    /**
     * A job as the worker saw it, but for the jid and creation time, which decoding makes up when a payload lacks
     * them; two cases that decode to the same job count as one key, twice.
     */
    private static String key(Job job) {
        try {
            Job normal = job.toBuilder().jid("-").createdAt(Instant.EPOCH).build();
            return new String(JobCodec.builder().maxPayloadBytes(BIG).build().encode(normal), StandardCharsets.UTF_8);
        } catch (RuntimeException e) {
            return job.toString() + " " + e;
        }
    }

    /** The jobs whose run count differs, shortened, or "" when none does. */
    private static String difference(Map<String, Integer> expected, Map<String, Integer> actual) {
        StringBuilder sb = new StringBuilder();
        Set<String> keys = new java.util.TreeSet<>(expected.keySet());
        keys.addAll(actual.keySet());
        for (String k : keys) {
            int e = expected.getOrDefault(k, 0);
            int a = actual.getOrDefault(k, 0);
            if (e != a) {
                sb.append("\n  expected ")
                        .append(e)
                        .append(", ran ")
                        .append(a)
                        .append(": ")
                        .append(k.length() > 300 ? k.substring(0, 300) + "…" : k);
            }
        }
        return sb.toString();
    }

    private static Map<String, Integer> counts(Map<String, AtomicInteger> ran) {
        Map<String, Integer> out = new TreeMap<>();
        ran.forEach((k, v) -> out.put(k, v.get()));
        return out;
    }
}
