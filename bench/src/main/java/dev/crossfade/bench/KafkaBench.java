package dev.crossfade.bench;

import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.kafka.KafkaBackendConfig;
import dev.crossfade.kafka.KafkaJobQueue;
import dev.crossfade.kafka.internal.Hdr;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.tools.ConsumerPerformance;
import org.apache.kafka.tools.ProducerPerformance;
import org.apache.kafka.tools.ShareConsumerPerformance;

/**
 * The Kafka figures, each beside Kafka's own perf tool on the same fresh broker and, where it reads, the same topic:
 * enqueue against ProducerPerformance, consumer-group processing against ConsumerPerformance, share-group processing
 * against ShareConsumerPerformance, and enqueue-to-start latency at a steady rate. The perf tools run in this JVM
 * (after a warm-up run of their own, as Crossfade gets one), so both sides run JIT-compiled client code.
 */
final class KafkaBench {
    static final int BATCH = 1_000;
    static final int THREADS = 10;
    /**
     * Kafka moves 100,000 small records in a tenth of a second; its rounds are this many times --jobs, so each
     * measured window is long enough not to be decided by a scheduler hiccup or a log segment roll.
     */
    static final int SCALE = 5;
    /** Partitions of every bench topic (the broker's default, set by {@code LocalKafka}). */
    static final int PARTITIONS = 6;

    static final String SPRING_KAFKA = "4.1.2";
    /** The latency figure's warm-up goes in stretches of this many seconds, at most this many. */
    static final int LATENCY_WARM_STRETCH_S = 2;

    static final int LATENCY_WARM_MAX_STRETCHES = 15;

    private final BenchContext ctx;
    private final String bootstrap;

    KafkaBench(BenchContext ctx) {
        this.ctx = ctx;
        this.bootstrap = ctx.kafka().bootstrapServers();
    }

    void run(Report report) {
        Report.Section s = report.section("Kafka");
        enqueue(s);
        processing(s, KafkaBackendConfig.Mode.GROUP);
        processing(s, KafkaBackendConfig.Mode.SHARE);
        latency(s);
        s.note("Broker: one KRaft node (`LocalKafka`, child JVM with the options of Kafka's start scripts, "
                + String.join(" ", BenchContext.BROKER_JVM_OPTIONS)
                + "), 6 partitions per topic, replication 1; "
                + "Crossfade record value " + ctx.payloads().encodedSize() + " bytes of Sidekiq JSON plus a 24-byte "
                + "key (the jid) and a `crossfade-job` header (attempt, jid and class).");
    }

    /** One figure alone ({@code --only kafka-group} and so on), for work on that path. */
    void runPart(String part, Report report) {
        Report.Section s = report.section("Kafka");
        switch (part) {
            case "kafka-enqueue" -> enqueue(s);
            case "kafka-group" -> processing(s, KafkaBackendConfig.Mode.GROUP);
            case "kafka-share" -> processing(s, KafkaBackendConfig.Mode.SHARE);
            case "kafka-latency" -> latency(s);
            default -> throw new IllegalArgumentException("unknown part " + part);
        }
    }

    private KafkaBackend backend(String prefix, KafkaBackendConfig.Mode mode) {
        return KafkaBackend.create(KafkaBackendConfig.custom()
                .bootstrapServers(bootstrap)
                .topicPrefix(prefix)
                .mode(mode)
                .build());
    }

    // ---- 4. enqueue ----

    private void enqueue(Report.Section s) {
        int n = ctx.jobs() * SCALE;
        String topic = "bench-produce.default";
        try (KafkaBackend kafka = backend("bench-produce", KafkaBackendConfig.Mode.GROUP);
                SameRecords same = new SameRecords(topic);
                SpringKafkaPeer.Sender spring = peer().sender(topic)) {
            KafkaJobQueue q = kafka.queue();
            // An untimed round of each side first: with a warm-up of 20,000 records, the first timed round of every
            // side ran at half to two thirds of the later ones (the JIT, in the client and in the broker).
            enqueueAll(q, n);
            producerPerf(topic, n);
            same.send(n);
            same.sendCalls(n);
            spring.send(n, BATCH);
            List<Double> cf = new ArrayList<>();
            List<Double> ref = new ArrayList<>();
            List<Double> raw = new ArrayList<>();
            List<Double> async = new ArrayList<>();
            List<Double> peer = new ArrayList<>();
            List<Double> calls = new ArrayList<>();
            timedAsyncEnqueue(q, n);
            // Which side goes first rotates too: the broker is still writing out the previous round's burst.
            for (int round = 0; round < ctx.rounds(); round++) {
                for (int k = 0; k < 6; k++) {
                    switch ((round + k) % 6) {
                        case 0 -> cf.add(timedEnqueue(q, n));
                        case 1 -> ref.add(producerPerf(topic, n));
                        case 2 -> raw.add(same.send(n));
                        case 3 -> peer.add(spring.send(n, BATCH));
                        case 4 -> calls.add(same.sendCalls(n));
                        default -> async.add(timedAsyncEnqueue(q, n));
                    }
                }
            }
            // Each round's figures, in the order taken: the medians below hide how far rounds spread.
            Map<String, List<Double>> sides = new LinkedHashMap<>();
            sides.put("crossfade", cf);
            sides.put("spring", peer);
            sides.put("same records", raw);
            sides.put("same records in calls", calls);
            sides.put("enqueueAllAsync", async);
            sides.put("ProducerPerformance", ref);
            sides.forEach((side, rates) -> System.out.println("[bench] kafka enqueue rounds, " + side + ": "
                    + rates.stream()
                            .map(v -> String.format(Locale.ROOT, "%,.0f", v))
                            .collect(Collectors.joining(" "))
                    + " jobs/s"));
            double c = Stats.median(cf);
            double r = Stats.median(ref);
            double w = Stats.median(raw);
            double a = Stats.median(async);
            double sp = Stats.median(peer);
            double sc = Stats.median(calls);
            s.row(new Report.Row(
                    "enqueue " + n + " jobs in batches of " + BATCH + ", acks=all, idempotent",
                    Report.rate(c),
                    "Spring Kafka `KafkaTemplate`, same jobs and batches",
                    Report.rate(sp),
                    Report.ratio(c / sp),
                    "≥ 1.2×",
                    c / sp >= 1.2));
            s.row(new Report.Row(
                    "enqueue " + n + " jobs in batches of " + BATCH + ", against the same records",
                    Report.rate(c),
                    "plain `KafkaProducer`, same records",
                    Report.rate(w),
                    Report.percent(c / w),
                    "≥ 85%",
                    c / w >= 0.85));
            s.row(new Report.Row(
                    "the same records, built beforehand, sent in calls of " + BATCH + " awaited as `enqueueAll` "
                            + "awaits them (the limit of such a call)",
                    Report.rate(sc),
                    "Spring Kafka `KafkaTemplate`, same jobs and batches",
                    Report.rate(sp),
                    Report.ratio(sc / sp),
                    "(report)",
                    null));
            s.row(new Report.Row(
                    "enqueue " + n + " jobs in batches of " + BATCH + " (the limit)",
                    Report.rate(c),
                    "`ProducerPerformance --record-size " + Payloads.TARGET_BYTES + "`",
                    Report.rate(r),
                    Report.percent(c / r),
                    "(report)",
                    null));
            s.row(new Report.Row(
                    "enqueue " + n + " jobs with `enqueueAllAsync`, 2 batches of " + BATCH + " in flight",
                    Report.rate(a),
                    "`ProducerPerformance --record-size " + Payloads.TARGET_BYTES + "`",
                    Report.rate(r),
                    Report.percent(a / r),
                    "(report)",
                    null));
            s.note("Enqueue: median of " + ctx.rounds() + " rounds, rotating the six sides (and which goes first), "
                    + "after an untimed round of each. Crossfade: `KafkaJobQueue.enqueueAll` "
                    + "of " + BATCH + " jobs per call on one thread (each call returns after every ack), producer "
                    + "defaults acks=all, idempotence on, batch.size=65536, linger.ms=5 with a flush once a call's "
                    + "jobs are sent (the backend's bulk producer), timed including building the jobs. Reference: "
                    + "`ProducerPerformance --num-records " + n + " --record-size "
                    + Payloads.TARGET_BYTES + " --throughput -1 --command-property acks=all enable.idempotence=true "
                    + "linger.ms=5` on the same topic (Kafka's default linger; fully asynchronous sends, random "
                    + "payload, no key, no headers). Plain `KafkaProducer`: the records Crossfade sends (the jobs' "
                    + "encoded JSON, the jid as key, the `crossfade-job` header), encoded beforehand and sent "
                    + "the way ProducerPerformance sends (one thread, asynchronous, its settings, so Kafka's default "
                    + "batch.size of 16384 where Crossfade's is 65536); it measures what "
                    + "the record itself costs Kafka's client and broker, apart from Crossfade's code. The same records "
                    + "in calls: a plain producer with the bulk producer's settings (batch.size=65536) sending those "
                    + "records " + BATCH + " to a call, each call flushed and its acks awaited, as `enqueueAll` does "
                    + "once its jobs are encoded: what a call of that shape costs with no building or encoding at all, "
                    + "so its ratio to Spring is the most `enqueueAll` could reach against Spring in that run. "
                    + "`enqueueAllAsync`: "
                    + "the same jobs and calls on one thread, each call's future awaited only after the next call has "
                    + "sent, so that one batch is acknowledged while the next is built (how a bulk producer overlaps "
                    + "its waits); its batches go through the same bulk producer, flushed from the backend's flusher "
                    + "thread so that the call does not block. Spring Kafka " + SPRING_KAFKA
                    + ": a `KafkaTemplate` over a "
                    + "`DefaultKafkaProducerFactory` with the same producer settings, `JacksonJsonSerializer` writing "
                    + "a record of the same Sidekiq fields (no type headers), the jid as key; per call of " + BATCH
                    + " jobs, `sendDefault` each, `flush()`, then every future awaited, so each call returns after "
                    + "its acks as `enqueueAll` does; timed including building the messages.");
        }
    }

    /**
     * The records of the bench jobs as {@link KafkaJobQueue} makes them, sent by a plain producer configured as the
     * ProducerPerformance reference.
     */
    private final class SameRecords implements AutoCloseable {
        private final List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        private final KafkaProducer<byte[], byte[]> producer;
        private final KafkaProducer<byte[], byte[]> callProducer;

        SameRecords(String topic) {
            JobCodec codec = JobCodec.defaults();
            Instant now = Instant.now();
            for (Job job : ctx.payloads().batch(0, BATCH)) {
                byte[] jid = Hdr.bytes(job.jid());
                records.add(new ProducerRecord<>(
                        topic, null, null, jid, codec.encodeEnqueued(job, now), Hdr.jobHeaders(job, jid)));
            }
            Map<String, Object> p = new HashMap<>();
            p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            p.put(ProducerConfig.ACKS_CONFIG, "all");
            p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
            p.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
            producer = new KafkaProducer<>(p);
            p.put(ProducerConfig.BATCH_SIZE_CONFIG, 65536);
            callProducer = new KafkaProducer<>(p);
        }

        /**
         * Sends {@code n} records in calls of {@link #BATCH} through a producer with the bulk producer's batch size,
         * each call flushed and its acks awaited before the next; returns records/s.
         */
        double sendCalls(int n) {
            List<Future<RecordMetadata>> acks = new ArrayList<>(BATCH);
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i += BATCH) {
                acks.clear();
                for (int j = i; j < Math.min(n, i + BATCH); j++) {
                    acks.add(callProducer.send(records.get(j % records.size())));
                }
                callProducer.flush();
                for (Future<RecordMetadata> ack : acks) {
                    try {
                        ack.get();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IllegalStateException(e);
                    } catch (ExecutionException e) {
                        throw new IllegalStateException("a record was not acknowledged", e.getCause());
                    }
                }
            }
            return n / ((System.nanoTime() - t0) / 1e9);
        }

        /** Sends {@code n} records and returns records/s, from the first send until every ack is in. */
        double send(int n) {
            LongAdder failed = new LongAdder();
            Callback cb = (meta, e) -> {
                if (e != null) {
                    failed.increment();
                }
            };
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                producer.send(records.get(i % records.size()), cb);
            }
            producer.flush();
            double rate = n / ((System.nanoTime() - t0) / 1e9);
            if (failed.sum() > 0) {
                throw new IllegalStateException(failed.sum() + " of " + n + " records were not acknowledged");
            }
            return rate;
        }

        @Override
        public void close() {
            producer.close();
            callProducer.close();
        }
    }

    private double timedEnqueue(KafkaJobQueue q, int n) {
        long t0 = System.nanoTime();
        enqueueAll(q, n);
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    /** As {@link #timedEnqueue}, with the next batch sent before the previous batch's acks are awaited. */
    private double timedAsyncEnqueue(KafkaJobQueue q, int n) {
        long t0 = System.nanoTime();
        CompletableFuture<List<String>> previous = null;
        for (int i = 0; i < n; i += BATCH) {
            CompletableFuture<List<String>> sent =
                    q.enqueueAllAsync(ctx.payloads().batch(i, Math.min(BATCH, n - i)));
            if (previous != null) {
                previous.join();
            }
            previous = sent;
        }
        if (previous != null) {
            previous.join();
        }
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    private void enqueueAll(KafkaJobQueue q, int n) {
        for (int i = 0; i < n; i += BATCH) {
            q.enqueueAll(ctx.payloads().batch(i, Math.min(BATCH, n - i)));
        }
    }

    private double producerPerf(String topic, int n) {
        String out = captureStdout(() -> ProducerPerformance.main(new String[] {
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--num-records",
            Integer.toString(n),
            "--record-size",
            Integer.toString(Payloads.TARGET_BYTES),
            "--throughput",
            "-1",
            "--command-property",
            "acks=all",
            "enable.idempotence=true",
            "linger.ms=5"
        }));
        Matcher m =
                Pattern.compile("(\\d+) records sent, ([0-9.]+) records/sec").matcher(out);
        double rate = -1;
        while (m.find()) {
            rate = Double.parseDouble(m.group(2));
        }
        if (rate < 0) {
            throw new IllegalStateException("unexpected ProducerPerformance output: " + out);
        }
        return rate;
    }

    // ---- 5. processing ----

    private void processing(Report.Section s, KafkaBackendConfig.Mode mode) {
        int n = ctx.jobs() * SCALE;
        String prefix = "bench-" + mode.name().toLowerCase(Locale.ROOT);
        String topic = prefix + ".default";
        List<Double> ours = new ArrayList<>();
        List<Double> refs = new ArrayList<>();
        List<Double> peers = new ArrayList<>();
        String peerGroup = "bench-spring-" + mode.name().toLowerCase(Locale.ROOT);
        if (mode == KafkaBackendConfig.Mode.SHARE) {
            earliest(peerGroup);
        }
        String refName = mode == KafkaBackendConfig.Mode.GROUP ? "`ConsumerPerformance`" : "`ShareConsumerPerformance`";
        String refKey = "fetch.nMsg.sec";
        try (KafkaBackend kafka = backend(prefix, mode)) {
            // Warm-up: one untimed round of each side, at full size, so both are measured with compiled code.
            enqueueAll(kafka.queue(), n);
            process(kafka, n);
            processPeer(mode, topic, peerGroup, n);
            reference(mode, topic, n, "warm-up");
            long inTopic = n;
            // Rounds alternate ours and the reference on the same, growing topic; the medians are compared.
            for (int round = 0; round < ctx.rounds(); round++) {
                enqueueAll(kafka.queue(), n);
                inTopic += n;
                // Crossfade and Spring Kafka each read this round's records in a group of their own; who goes first
                // alternates.
                if (round % 2 == 0) {
                    ours.add(process(kafka, n));
                    peers.add(processPeer(mode, topic, peerGroup, n));
                } else {
                    peers.add(processPeer(mode, topic, peerGroup, n));
                    ours.add(process(kafka, n));
                }
                // The reference reads the same count each round (from the start, with a fresh group), so rounds
                // compare like with like as the topic grows.
                Map<String, String> res = reference(mode, topic, 2 * n, Long.toString(inTopic));
                if (mode == KafkaBackendConfig.Mode.SHARE && !res.containsKey("fetch.nMsg.sec")) {
                    refKey = "nMsg.sec";
                }
                refs.add(Double.parseDouble(res.get(refKey)));
            }
        }
        double c = Stats.median(ours);
        double r = Stats.median(refs);
        double sp = Stats.median(peers);
        boolean group = mode == KafkaBackendConfig.Mode.GROUP;
        String m = group ? "consumer group" : "share group";
        s.row(new Report.Row(
                "process " + n + " no-op jobs, " + m + ", " + THREADS + " threads",
                Report.rate(c),
                group
                        ? "Spring Kafka `ConcurrentMessageListenerContainer`"
                        : "Spring Kafka " + "`ShareKafkaMessageListenerContainer`",
                Report.rate(sp),
                Report.ratio(c / sp),
                "≥ 1.2×",
                c / sp >= 1.2));
        s.row(new Report.Row(
                "process " + n + " no-op jobs, " + m + " (the limit)",
                Report.rate(c),
                refName,
                Report.rate(r),
                Report.percent(c / r),
                group ? "(report; aim 50%)" : "≥ 80%",
                group ? null : c / r >= 0.8));
        s.note(
                "Processing (" + m + "): median of " + ctx.rounds() + " rounds; in each, " + n + " jobs already in the "
                        + "topic, after an untimed warm-up round of each side. "
                        + "Crossfade: `" + (mode == KafkaBackendConfig.Mode.GROUP ? "GroupRunner" : "ShareRunner")
                        + "` from `KafkaBackend.workers(core, {default}, " + THREADS + ")`, default settings ("
                        + (mode == KafkaBackendConfig.Mode.GROUP
                                ? "ordering "
                                        + KafkaBackendConfig.custom()
                                                .bootstrapServers(bootstrap)
                                                .build()
                                                .ordering()
                                        + ", commit every 500 ms"
                                : shareSettings(mode))
                        + "), time from the first job's start "
                        + "to the last job's finish. Reference, after each round: " + refName + " reading the first "
                        + (2 * n)
                        + " records of the same topic with a fresh group; its `" + refKey + "`"
                        + (refKey.startsWith("fetch")
                                ? " (excludes the group join, as Crossfade's time does)"
                                : " (includes its group join)")
                        + ". "
                        + "Spring Kafka " + SPRING_KAFKA
                        + ", in each round beside Crossfade (who goes first alternates), "
                        + "reading the same round's records in a group of its own, time from the first record's start to the "
                        + "last one's finish: "
                        + (group
                                ? "a `ConcurrentMessageListenerContainer` of " + PARTITIONS
                                        + " consumers (concurrency = partitions), batch acknowledgement"
                                : "a "
                                        + "`ShareKafkaMessageListenerContainer` of " + THREADS
                                        + " share consumers (concurrency = Crossfade's "
                                        + "threads), implicit acknowledgement")
                        + ", `JacksonJsonDeserializer` into the record of Sidekiq's "
                        + "fields, a no-op record listener. Crossfade builds each job from its record's `crossfade-job` "
                        + "header (attempt, jid, class) and decodes the JSON only when something reads more (the no-op worker does not).");
    }

    private String shareSettings(KafkaBackendConfig.Mode mode) {
        KafkaBackendConfig c = KafkaBackendConfig.custom()
                .bootstrapServers(bootstrap)
                .mode(mode)
                .build();
        int consumers = c.shareConsumers(THREADS);
        return consumers + (consumers == 1 ? " share consumer, " : " share consumers, ")
                + c.shareMaxPollRecords(THREADS) + " records per poll" + (consumers == 1 ? "" : " each")
                + ", acquire mode `record_limit`, explicit per-record acknowledgement";
    }

    /** One run of Kafka's own consumer tool over the first {@code records} records of the topic, with a fresh group. */
    private Map<String, String> reference(KafkaBackendConfig.Mode mode, String topic, long records, String suffix) {
        if (mode == KafkaBackendConfig.Mode.GROUP) {
            return table(captureStdout(() -> ConsumerPerformance.main(new String[] {
                "--bootstrap-server",
                bootstrap,
                "--topic",
                topic,
                "--num-records",
                Long.toString(records),
                "--group",
                "bench-perf-consumer-" + suffix,
                "--timeout",
                "30000"
            })));
        }
        String group = "bench-perf-share-" + suffix;
        earliest(group);
        return table(captureStdout(() -> ShareConsumerPerformance.main(new String[] {
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--num-records",
            Long.toString(records),
            "--group",
            group,
            "--timeout",
            "30000"
        })));
    }

    private double processPeer(KafkaBackendConfig.Mode mode, String topic, String group, int n) {
        return mode == KafkaBackendConfig.Mode.GROUP
                ? peer().processGroup(topic, group, PARTITIONS, n)
                : peer().processShare(topic, group, THREADS, n);
    }

    private SpringKafkaPeer peer() {
        return new SpringKafkaPeer(bootstrap, ctx.payloads().filler());
    }

    private double process(KafkaBackend kafka, int n) {
        Probe probe = new Probe(0);
        return probe.throughput(kafka.workers(core(probe), Set.of(Job.DEFAULT_QUEUE), THREADS), n);
    }

    private void earliest(String group) {
        Map<String, Object> props = new HashMap<>();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(props)) {
            admin.incrementalAlterConfigs(Map.of(
                            new ConfigResource(ConfigResource.Type.GROUP, group),
                            List.of(new AlterConfigOp(
                                    new ConfigEntry("share.auto.offset.reset", "earliest"), AlterConfigOp.OpType.SET))))
                    .all()
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("cannot configure share group " + group + ": " + e, e);
        }
    }

    // ---- 6. latency ----

    private void latency(Report.Section s) {
        int rate = BenchContext.LATENCY_RATE;
        int stretch = rate * LATENCY_WARM_STRETCH_S;
        int count = rate * ctx.latencySeconds();
        Probe probe = new Probe(1 + LATENCY_WARM_MAX_STRETCHES * stretch + count);
        long failures;
        int warmStretches = 0;
        int measuredFrom;
        try (KafkaBackend kafka = backend("bench-latency", KafkaBackendConfig.Mode.GROUP)) {
            WorkerRuntime rt = kafka.workers(core(probe), Set.of(Job.DEFAULT_QUEUE), THREADS);
            rt.start();
            try {
                // One job first: the runtime has joined and owns the partitions before the clock matters.
                kafka.queue()
                        .enqueue(Job.builder(Payloads.CLASS)
                                .args(System.nanoTime(), "")
                                .build());
                probe.awaitFinished(1, Duration.ofSeconds(60));
                // Warm-up at the same rate until the p50 stops falling (two stretches in a row none lower by a tenth
                // than the best so far): the single-job path of the client and the broker (one record a produce
                // request, one a fetch) runs several times slower for its first seconds, however many batches the
                // broker served before.
                int started = 1;
                long best = Long.MAX_VALUE;
                int flat = 0;
                while (warmStretches < LATENCY_WARM_MAX_STRETCHES && flat < 2) {
                    int sent = stretch - (int) Paced.run(kafka.queue(), ctx.payloads(), rate, stretch, 32);
                    probe.awaitFinished(started + sent, Duration.ofSeconds(30));
                    long p50 = Stats.percentile(probe.latencies(started, started + sent), 50);
                    started += sent;
                    warmStretches++;
                    flat = p50 < best * 0.9 ? 0 : flat + 1;
                    best = Math.min(best, p50);
                }
                measuredFrom = started;
                failures = Paced.run(kafka.queue(), ctx.payloads(), rate, count, 32);
                probe.awaitFinished(started + count - failures, Duration.ofSeconds(30));
            } finally {
                rt.stop(Duration.ofSeconds(10));
            }
        }
        long[] l = probe.latencies(measuredFrom);
        s.row(new Report.Row(
                "enqueue-to-start p50 at " + rate + " jobs/s (group)",
                Report.micros(Stats.percentile(l, 50)),
                "—",
                "—",
                "—",
                "(report)",
                null));
        long p99 = Stats.percentile(l, 99);
        s.row(new Report.Row(
                "enqueue-to-start p99 at " + rate + " jobs/s (group)",
                Report.micros(p99),
                "goal",
                "10 ms",
                Report.ratio(p99 / 10_000_000.0),
                "p99 < 10 ms",
                p99 < 10_000_000L));
        s.note(String.format(
                Locale.ROOT,
                "Latency: single `enqueue` calls (each waits for its ack) at a steady %d "
                        + "jobs/s for %d s, from 32 producer threads, to a running GroupRunner (%d threads), after a "
                        + "warm-up at the same rate until the p50 stopped falling (two %d s stretches in a row none a "
                        + "tenth below the best; %d s here, at most %d s); from the time each job was due to its worker's start; %d samples, %d "
                        + "failures; p99.9 %s, max %s.",
                rate,
                ctx.latencySeconds(),
                THREADS,
                LATENCY_WARM_STRETCH_S,
                warmStretches * LATENCY_WARM_STRETCH_S,
                LATENCY_WARM_MAX_STRETCHES * LATENCY_WARM_STRETCH_S,
                l.length,
                failures,
                Report.micros(Stats.percentile(l, 99.9)),
                Report.micros(Stats.percentile(l, 100))));
    }

    private static ExecutionCore core(Probe probe) {
        return ExecutionCore.builder(WorkerRegistry.builder()
                        .register(Payloads.CLASS, (args, c) -> {})
                        .build())
                .listener(probe)
                .build();
    }

    /** Runs a perf tool in this JVM and returns what it printed on stdout. */
    static synchronized String captureStdout(Tool r) {
        PrintStream original = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } catch (Exception e) {
            throw new IllegalStateException("perf tool failed: " + e, e);
        } finally {
            System.setOut(original);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.print(out.lines().map(l -> "[perf-tool] " + l + "\n").reduce("", String::concat));
        return out;
    }

    /** A perf tool's main method. */
    interface Tool {
        void run() throws Exception;
    }

    /** Parses the perf tools' "header, header\nvalue, value" summary into a map. */
    static Map<String, String> table(String out) {
        List<String> lines =
                out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
        for (int i = 0; i < lines.size() - 1; i++) {
            if (lines.get(i).contains("nMsg.sec")) {
                String[] h = lines.get(i).split(",\\s*");
                String[] v = lines.get(i + 1).split(",\\s*");
                Map<String, String> m = new HashMap<>();
                for (int k = 0; k < Math.min(h.length, v.length); k++) {
                    m.put(h[k].trim(), v[k].trim());
                }
                return m;
            }
        }
        throw new IllegalStateException("no summary in perf tool output: " + out);
    }
}
