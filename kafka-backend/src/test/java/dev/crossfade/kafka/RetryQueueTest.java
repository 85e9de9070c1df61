package dev.crossfade.kafka;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.TextNode;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.RetryPolicy;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Sidekiq's {@code retry_queue} on Kafka: a failed job's retry runs on the queue it names, not its own. */
@ExtendWith(CrossfadeServices.class)
class RetryQueueTest {

    @Test
    void aRetryGoesToTheQueueItsRetryQueueNames(KafkaService kafka, TestNamespace ns) {
        String prefix = ns.value().replaceAll("[^a-zA-Z0-9._-]", "").toLowerCase();
        try (KafkaBackend backend =
                KafkaBackend.create(KafkaFixture.config(kafka.bootstrapServers(), prefix, KafkaBackendConfig.Mode.GROUP)
                        .build())) {
            // One runtime per queue: a retry that went back to its own queue would run in the first one.
            List<String> ranOn = new CopyOnWriteArrayList<>();
            WorkerOptions fast = WorkerOptions.custom()
                    .retryPolicy(RetryPolicy.fixed(Duration.ofMillis(200)))
                    .build();
            WorkerRegistry onDefault = WorkerRegistry.builder()
                    .register(
                            "Flaky",
                            (a, ctx) -> {
                                ranOn.add("default#" + ctx.attempt());
                                throw new IllegalStateException("fails on queue default");
                            },
                            fast)
                    .build();
            WorkerRegistry onSlow = WorkerRegistry.builder()
                    .register("Flaky", (a, ctx) -> ranOn.add("slow#" + ctx.attempt()), fast)
                    .build();
            WorkerRuntime d = backend.workers(ExecutionCore.builder(onDefault).build(), Set.of("default"), 1);
            WorkerRuntime s = backend.workers(ExecutionCore.builder(onSlow).build(), Set.of("slow"), 1);
            d.start();
            s.start();
            try {
                backend.queue()
                        .enqueue(Job.builder("Flaky")
                                .queue("default")
                                .extra("retry_queue", TextNode.valueOf("slow"))
                                .build());
                await().atMost(Duration.ofSeconds(30)).until(() -> ranOn.size() >= 2);
            } finally {
                d.stop(Duration.ofSeconds(10));
                s.stop(Duration.ofSeconds(10));
            }
            assertEquals(List.of("default#1", "slow#2"), ranOn, "runtime#attempt of each run");
        }
    }
}
