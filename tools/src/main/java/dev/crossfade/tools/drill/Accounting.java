package dev.crossfade.tools.drill;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.cli.runtime.BuiltInWorkers;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.kafka.DeadLetter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.clients.jedis.UnifiedJedis;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.resps.ScanResult;

/**
 * Accounts for every jid after a drill: processed (and how often, from the ledger), dead (Redis dead set or Kafka
 * DLQ, with the reason), still queued (found in a Redis queue, retry or schedule set, in-progress list, or past the
 * committed offsets of a Kafka topic), or lost. Duplicates are traced through the drill's run log to a cause.
 */
final class Accounting {
    private static final Logger log = LoggerFactory.getLogger(Accounting.class);
    private static final Pattern MARKER = Pattern.compile("drill-malformed-(redis|kafka)-\\d+");
    static final Pattern SKIP = Pattern.compile("\\[([^\\]]+)\\].*job ([0-9a-f]+) \\(.*already ran (?:as|on) another");
    private static final String GUARD_DOWN = "run-once guard unavailable";
    /** The cause of a duplicate that must never happen: a live process judged dead and its job run again. */
    static final String LIVE_RERUN = "rerun on redis by a peer while the process that ran it was alive";

    private Accounting() {}

    /** Dead jobs by jid with their reason, and the malformed-payload markers found among them. */
    record Dead(Map<String, String> reasons, Map<String, String> markers, int redis, int kafka) {}

    static Dead readDead(Node node, String queue) {
        Map<String, String> reasons = new HashMap<>();
        Map<String, String> markers = new HashMap<>();
        List<Job> redisDead = node.redis().admin().dead(1_000_000);
        for (Job j : redisDead) {
            reasons.put(j.jid(), "Redis dead set: " + j.errorClass() + ": " + j.errorMessage());
            marker(j, "Redis dead set", markers);
        }
        List<DeadLetter> dlq = node.kafka().admin().deadLetters(queue, 1_000_000);
        for (DeadLetter d : dlq) {
            String why = "Kafka DLQ: " + d.headers().getOrDefault("error-class", "?") + ": "
                    + d.headers().getOrDefault("error-message", "?");
            String jid = d.jid();
            if (jid != null) {
                reasons.put(jid, why);
            }
            if (d.job() != null) {
                marker(d.job(), "Kafka DLQ", markers);
            }
        }
        return new Dead(reasons, markers, redisDead.size(), dlq.size());
    }

    private static void marker(Job j, String where, Map<String, String> markers) {
        if (ExecutionCore.INVALID_PAYLOAD_CLASS.equals(j.className())
                && !j.args().isEmpty()) {
            Matcher m = MARKER.matcher(j.args().get(0).asText());
            if (m.find()) {
                markers.put(m.group(), where + ": " + j.errorMessage());
            }
        }
    }

    /** A line of the run log. */
    record Run(String jid, String backend, long pid, int attempt, long epochMillis) {
        static Run parse(String line) {
            String[] p = line.split(" ");
            return new Run(p[0], p[1], Long.parseLong(p[2]), Integer.parseInt(p[3]), Long.parseLong(p[4]));
        }
    }

    static DrillReport account(
            Drill drill, Node node, String namespace, String topicPrefix, String bootstrap, String queue)
            throws IOException {
        UnifiedJedis redis = node.redis().redis();
        Map<String, String> ledger = redis.hgetAll(BuiltInWorkers.ledgerKey(namespace));
        Map<String, List<Run>> runs = new HashMap<>();
        for (String line : redis.lrange(DrillWorkers.runsKey(namespace), 0, -1)) {
            Run r = Run.parse(line);
            runs.computeIfAbsent(r.jid(), k -> new ArrayList<>()).add(r);
        }
        Dead dead = readDead(node, queue);
        DrillReport.Builder report = new DrillReport.Builder(drill);
        report.deadRedis = dead.redis();
        report.deadKafka = dead.kafka();

        Set<String> ok = new HashSet<>();
        List<String> missing = new ArrayList<>();
        List<String> mustRun = new ArrayList<>(Arrays.asList(drill.okJids));
        mustRun.addAll(drill.outageJobs.keySet());
        for (String jid : mustRun) {
            if (jid == null || !ok.add(jid)) {
                continue;
            }
            int n = ledger.containsKey(jid) ? Integer.parseInt(ledger.get(jid)) : 0;
            if (n > 0) {
                if (drill.outageJobs.containsKey(jid)) {
                    report.outageJobsRun++;
                    report.outageJobsOnce += n == 1 ? 1 : 0;
                } else {
                    report.processed++;
                }
                if (n > 1) {
                    report.duplicateJobs++;
                    report.extraRuns += n - 1;
                    String cause = cause(drill, runs.getOrDefault(jid, List.of()), n);
                    report.duplicateCauses.merge(cause, n - 1, Integer::sum);
                    if (cause.startsWith(LIVE_RERUN)) {
                        report.liveReruns += n - 1;
                    }
                    if (cause.contains(FaultKind.REDIS_OUTAGE.label())) {
                        report.outageExtraRuns += n - 1;
                    }
                }
            } else if (dead.reasons().containsKey(jid)) {
                report.unexpectedDead.put(jid, dead.reasons().get(jid));
            } else {
                missing.add(jid);
            }
        }
        for (Map.Entry<String, String> e : drill.expectedDead.entrySet()) {
            ok.add(e.getKey());
            if (dead.reasons().containsKey(e.getKey())) {
                report.expectedDeadFound.put(
                        e.getKey(), e.getValue() + " -> " + dead.reasons().get(e.getKey()));
            } else if (ledger.containsKey(e.getKey())) {
                report.unexpectedRuns.add(e.getKey());
            } else {
                missing.add(e.getKey());
            }
        }
        for (String jid : drill.orphans.keySet()) {
            if (ledger.containsKey(jid) || dead.reasons().containsKey(jid)) {
                report.orphansEnded++;
            } else if (!ok.contains(jid)) {
                missing.add(jid);
            }
        }
        for (Map.Entry<String, String> e : drill.malformed.entrySet()) {
            if (dead.markers().containsKey(e.getKey())) {
                report.malformedFound.put(e.getKey(), dead.markers().get(e.getKey()));
            } else {
                report.malformedMissing.add(e.getKey() + " (written to " + e.getValue() + ")");
            }
        }
        ledger.keySet().stream().filter(j -> !ok.contains(j)).forEach(j -> report.runsWithoutOk++);

        if (!missing.isEmpty()) {
            Map<String, String> where = locateInRedis(redis, namespace, missing);
            Map<String, String> consumed = new HashMap<>();
            where.putAll(locateInKafka(bootstrap, topicPrefix, queue, missing, consumed));
            for (String jid : missing) {
                if (where.containsKey(jid)) {
                    report.stillQueued.put(jid, where.get(jid));
                } else {
                    report.lost.add(jid);
                    if (consumed.containsKey(jid)) {
                        report.lostTrail.put(jid, consumed.get(jid));
                    }
                }
            }
            anywhereInRedis(redis, namespace, report.lost)
                    .forEach((jid, k) -> report.lostTrail.merge(jid, k, (a, b) -> a + "; " + b));
        }
        guardLines(drill, runs, report);
        return report.build();
    }

    /**
     * Why a job ran more than once, from its runs: copies on both backends mean a fallback double-write the run-once
     * guard did not stop; otherwise a redelivery on one backend, attributed to the process killed after running it
     * or to the fault open at the time of its first run.
     */
    static String cause(Drill drill, List<Run> runs, int count) {
        if (runs.size() < count) {
            return "unknown (run log shorter than the ledger count)";
        }
        List<Run> sorted = new ArrayList<>(runs);
        sorted.sort(Comparator.comparingLong(Run::epochMillis));
        Run first = sorted.get(0);
        boolean crossBackend = sorted.stream().map(Run::backend).distinct().count() > 1;
        boolean newAttempt = sorted.stream().map(Run::attempt).distinct().count() > 1;
        String near = faultNear(drill, first.epochMillis());
        if (crossBackend) {
            return "fallback double-write, both copies ran (run-once guard did not catch it" + near + ")";
        }
        Long killedAt = drill.killedPids.get(first.pid());
        if (killedAt != null && wall(drill, killedAt) >= first.epochMillis()) {
            return "redelivery on " + first.backend() + " after its worker was killed before acknowledging";
        }
        if (newAttempt) {
            return "retried on " + first.backend() + " after a run whose ledger write had landed" + near;
        }
        // Same attempt, another process, and the first one was not killed: it was judged dead while alive.
        if (first.backend().equals(Backend.REDIS.id()) && sorted.stream().anyMatch(r -> r.pid() != first.pid())) {
            return LIVE_RERUN + near;
        }
        return "redelivery on " + first.backend() + near;
    }

    /**
     * The fault a run at {@code epochMillis} is attributed to: of those whose window (2 s before the start to 10 s
     * after the end) holds it, the one that started last. Faults follow each other closely, so a fault's trailing
     * window often covers the start of the next one (a leader kill's covers the first seconds of the Redis failover
     * after it); the first in the list would name the earlier fault for what the later one did.
     */
    static String faultNear(Drill drill, long epochMillis) {
        FaultEvent near = null;
        for (FaultEvent f : drill.faults) {
            long start = wall(drill, f.startNanos) - 2000;
            long end = (f.endNanos == 0 ? Long.MAX_VALUE : wall(drill, f.endNanos) + 10_000);
            if (epochMillis >= start && epochMillis <= end && (near == null || f.startNanos > near.startNanos)) {
                near = f;
            }
        }
        return near == null ? "" : ", around " + near.kind.label();
    }

    private static long wall(Drill drill, long nanos) {
        return drill.wallT0 + TimeUnit.NANOSECONDS.toMillis(nanos - drill.t0);
    }

    /** Copies the run-once guard skipped, from the workers' logs: double-writes caught, redeliveries caught. */
    private static void guardLines(Drill drill, Map<String, List<Run>> runs, DrillReport.Builder report)
            throws IOException {
        for (WorkerProcess w : drill.workers()) {
            if (!Files.exists(w.log())) {
                continue;
            }
            for (String line : Files.readAllLines(w.log(), StandardCharsets.UTF_8)) {
                if (line.contains(GUARD_DOWN)) {
                    report.guardUnavailable++;
                    continue;
                }
                Matcher m = SKIP.matcher(line);
                if (!m.find()) {
                    continue;
                }
                String skippedOn = m.group(1).contains("kafka") ? Backend.KAFKA.id() : Backend.REDIS.id();
                List<Run> ran = runs.getOrDefault(m.group(2), List.of());
                if (ran.stream().anyMatch(r -> !r.backend().equals(skippedOn))) {
                    report.doubleWritesCaught++;
                } else {
                    report.redeliveriesCaught++;
                }
            }
        }
    }

    /**
     * For each lost jid, the first key of the namespace whose contents mention it: a last resort that reads every key
     * once, whatever the number of jids.
     */
    private static Map<String, String> anywhereInRedis(UnifiedJedis redis, String ns, List<String> jids) {
        Map<String, String> found = new LinkedHashMap<>();
        if (jids.isEmpty()) {
            return found;
        }
        try {
            ScanParams params = new ScanParams().match(ns + "*").count(500);
            String cursor = ScanParams.SCAN_POINTER_START;
            do {
                ScanResult<String> page = redis.scan(cursor, params);
                for (String key : page.getResult()) {
                    String type = redis.type(key);
                    String text = switch (type) {
                        case "list" -> String.join("\n", redis.lrange(key, 0, -1));
                        case "zset" -> String.join("\n", redis.zrange(key, 0, -1));
                        case "set" -> String.join("\n", redis.smembers(key));
                        case "string" -> redis.get(key);
                        default -> "";
                    };
                    for (String jid : jids) {
                        if (!found.containsKey(jid) && ((text != null && text.contains(jid)) || key.contains(jid))) {
                            found.put(jid, "Redis " + type + " " + key);
                        }
                    }
                }
                cursor = page.getCursor();
            } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        } catch (RuntimeException e) {
            log.warn("cannot scan Redis for {} lost jobs: {}", jids.size(), e.toString());
        }
        return found;
    }

    /** Where each jid sits in Redis, if anywhere: queue, retry or schedule set, in-progress or poison list. */
    private static Map<String, String> locateInRedis(UnifiedJedis redis, String ns, List<String> jids) {
        Map<String, String> places = new LinkedHashMap<>();
        Map<String, List<String>> contents = new LinkedHashMap<>();
        try {
            contents.put("Redis queue", redis.lrange(ns + "queue:default", 0, -1));
            contents.put("Redis retry set", redis.zrange(ns + "retry", 0, -1));
            contents.put("Redis schedule", redis.zrange(ns + "schedule", 0, -1));
            contents.put("Redis poison list", redis.lrange(ns + "crossfade:poison", 0, -1));
            ScanParams params =
                    new ScanParams().match(ns + "crossfade:inprogress:*").count(200);
            String cursor = ScanParams.SCAN_POINTER_START;
            do {
                ScanResult<String> page = redis.scan(cursor, params);
                for (String key : page.getResult()) {
                    contents.put("Redis in-progress " + key.substring(ns.length()), redis.lrange(key, 0, -1));
                }
                cursor = page.getCursor();
            } while (!cursor.equals(ScanParams.SCAN_POINTER_START));
        } catch (RuntimeException e) {
            return places;
        }
        for (String jid : jids) {
            for (Map.Entry<String, List<String>> e : contents.entrySet()) {
                if (e.getValue().stream().anyMatch(p -> p.contains(jid))) {
                    places.put(jid, e.getKey());
                    break;
                }
            }
        }
        return places;
    }

    /**
     * Where each jid waits in Kafka, if anywhere: past the committed offset of the jobs topic or a delay topic. A jid
     * found below the committed offset (consumed, yet no run recorded) goes to {@code consumed}, the trail of a loss.
     */
    private static Map<String, String> locateInKafka(
            String bootstrap, String prefix, String queue, List<String> jids, Map<String, String> consumed) {
        Map<String, String> places = new HashMap<>();
        Map<String, Object> props = new HashMap<>();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        String jobsTopic = prefix + "." + queue;
        // The queue's own groups (KafkaBackendConfig.workerGroup, schedulerGroup), and the shadow copies' group.
        String group = prefix + ".workers:" + queue;
        try (Admin admin = Admin.create(props);
                KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(
                        consumerProps(bootstrap), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            Map<TopicPartition, OffsetAndMetadata> committed = new HashMap<>();
            for (String g : List.of(group, group + ":scheduler", group + ":shadow")) {
                committed.putAll(admin.listConsumerGroupOffsets(g)
                        .partitionsToOffsetAndMetadata()
                        .get(10, TimeUnit.SECONDS));
            }
            List<TopicPartition> tps = new ArrayList<>();
            for (Map.Entry<String, List<PartitionInfo>> t :
                    c.listTopics(Duration.ofSeconds(10)).entrySet()) {
                if (t.getKey().startsWith(jobsTopic) && !t.getKey().endsWith(".dlq")) {
                    t.getValue().forEach(p -> tps.add(new TopicPartition(p.topic(), p.partition())));
                }
            }
            c.assign(tps);
            c.seekToBeginning(tps);
            Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(10));
            Set<String> wanted = new HashSet<>(jids);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline
                    && tps.stream().anyMatch(tp -> c.position(tp, Duration.ofSeconds(10)) < end.get(tp))) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
                    String text = r.value() == null ? "" : new String(r.value(), StandardCharsets.UTF_8);
                    OffsetAndMetadata o = committed.get(new TopicPartition(r.topic(), r.partition()));
                    boolean pending = o == null || r.offset() >= o.offset();
                    for (String jid : wanted) {
                        if (text.contains(jid)) {
                            String at = "Kafka " + r.topic() + "-" + r.partition() + "@" + r.offset();
                            if (pending) {
                                places.put(jid, at + " (not yet consumed)");
                            } else {
                                consumed.put(jid, at + " below committed offset " + o.offset());
                            }
                        }
                    }
                }
            }
        } catch (Exception e) {
            // Accounting reads what it can; a jid not located is reported as lost, which is the safe side.
            log.warn("cannot read the Kafka topics to locate {} missing jobs: {}", jids.size(), e.toString());
        }
        return places;
    }

    private static Map<String, Object> consumerProps(String bootstrap) {
        Map<String, Object> p = new HashMap<>();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "2000");
        return p;
    }

    /** Kinds of duplicate causes in a stable order, for the table. */
    static Map<String, Integer> sorted(Map<String, Integer> causes) {
        return new TreeMap<>(causes);
    }
}
