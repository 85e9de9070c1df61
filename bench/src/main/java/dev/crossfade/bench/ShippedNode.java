package dev.crossfade.bench;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionListener;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The worker runtime {@code crossfade work --backends B --concurrency N} builds, on one backend, with default settings
 * (run-once guard, job metrics, shadow comparator, unknown-class watch; on Kafka group mode, ordering by key), and the
 * bench's jobs registered: the no-op job and jobs that sleep 1 ms and 10 ms. Used by the scaling and backlog figures,
 * the latter in a child JVM.
 */
final class ShippedNode {
    static final String SLEEP_1MS = "Sleep1msJob";
    static final String SLEEP_10MS = "Sleep10msJob";

    private ShippedNode() {}

    /** A node on {@code backend}; {@code topicPrefix} names the Kafka topics (and so the group) it works. */
    static Node start(Backend backend, String redisUrl, String bootstrap, String topicPrefix, String flagsFile) {
        Map<String, String> set = new HashMap<>();
        set.put("redis.url", redisUrl);
        set.put("flags.file", flagsFile);
        if (backend == Backend.KAFKA) {
            set.put("kafka.bootstrap", bootstrap);
            set.put("kafka.topic-prefix", topicPrefix);
        }
        return Node.start(
                CrossfadeConfig.of(set, Map.of(), "", "bench"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                Set.of(backend));
    }

    /** The node's runtime over the default queue on {@code backend}, {@code threads} worker threads; not started. */
    static WorkerRuntime workers(Node node, Backend backend, ExecutionListener listener, int threads) {
        WorkerRegistry.Builder jobs = WorkerRegistry.builder()
                .register(Payloads.CLASS, (args, c) -> {})
                .register(SLEEP_1MS, (args, c) -> Thread.sleep(1))
                .register(SLEEP_10MS, (args, c) -> Thread.sleep(10));
        return node.workers(
                ShippedNode.class.getClassLoader(),
                jobs,
                listener,
                Set.of(Job.DEFAULT_QUEUE),
                Set.of(backend),
                threads);
    }

    /** The node's job queue on {@code backend} (the backend's own, not the router). */
    static JobQueue queue(Node node, Backend backend) {
        return backend == Backend.KAFKA ? node.kafka().queue() : node.redis().queue();
    }
}
