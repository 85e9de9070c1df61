package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.kafka.KafkaBackend;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.router.shadow.ShadowComparator;
import dev.crossfade.router.shadow.ShadowReport;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shadow mode with three worker processes on two backends: the two copies of a job usually run in different
 * processes, and the shared store pairs them anyway. Any process's report, or a fresh reader's (as
 * {@code crossfade shadow-report} is), counts every comparison.
 */
@ExtendWith(CrossfadeServices.class)
class ShadowAcrossProcessesTest extends WorkerStacks {
    private static final String SEEDED = "00000000000000000000beef";

    @TempDir
    Path dir;

    private static WorkerRegistry registry() {
        return WorkerRegistry.builder()
                .register(
                        "Price",
                        (args, ctx) -> {
                            long price = args.get(0).asLong() * 3;
                            // The seeded bug: on Kafka this one job computes a different price.
                            ctx.result(ctx.jid().equals(SEEDED) && ctx.backend() == Backend.KAFKA ? price + 1 : price);
                        },
                        WorkerOptions.custom().shadowSafe(true).build())
                .build();
    }

    @Test
    void copiesRunInDifferentProcessesArePairedThroughTheSharedStore(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) {
        FlagsFile file = FlagsFile.at(dir.resolve("flags.json"));
        file.write(new FlagsFile.Settings(50, false, 50));
        RedisBackend redis = redis(redisServer, ns);
        KafkaBackend kafka = kafka(kafkaServer, ns);
        SimpleMeterRegistry routerMeters = new SimpleMeterRegistry();
        RoutingFlags flags = closeLater(RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(file.path()))
                .meterRegistry(routerMeters)
                .build()));
        RoutingJobQueue router = closeLater(new RoutingJobQueue(
                redis.queue(),
                kafka.queue(),
                flags,
                RouterConfig.custom().meterRegistry(routerMeters).build()));
        List<ShadowComparator> comparators = new ArrayList<>();
        for (int p = 0; p < 3; p++) {
            RedisBackend r = redis(redisServer, ns);
            KafkaBackend k = kafka(kafkaServer, ns);
            ShadowComparator c = new ShadowComparator(
                    Duration.ofSeconds(60), new SimpleMeterRegistry(), r.shadowStore(Duration.ofHours(1)));
            comparators.add(c);
            ExecutionCore core = ExecutionCore.builder(registry()).listener(c).build();
            WorkerRuntime w = MigrationWorkerRuntime.of(
                    r.workers(core, Set.of("default"), 4), k.workers(core, Set.of("default"), 4));
            closeLater(w::close);
            w.start();
        }

        List<Job> jobs = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            jobs.add(Job.builder("Price").args(i).build());
        }
        // The seeded job must be shadowed: give it a routing key whose decision shadows it.
        for (int i = 0; ; i++) {
            Job probe = Job.builder("Price")
                    .jid(SEEDED)
                    .routingKey("seed-" + i)
                    .args(7)
                    .build();
            if (flags.decide(probe).shadowed()) {
                jobs.add(probe);
                break;
            }
        }
        for (int i = 0; i < jobs.size(); i += 500) {
            router.enqueueAll(jobs.subList(i, Math.min(jobs.size(), i + 500)));
        }
        long shadowed = (long)
                routerMeters.get("crossfade.router.shadow.enqueued").counter().count();

        ShadowComparator reader = new ShadowComparator(
                Duration.ofSeconds(60), new SimpleMeterRegistry(), redis.shadowStore(Duration.ofHours(1)));
        await().atMost(Duration.ofSeconds(120)).until(() -> {
            ShadowReport r = reader.report();
            return r.matched() + r.mismatched() == shadowed;
        });
        ShadowReport r = reader.report();
        assertEquals(1, r.mismatched());
        assertEquals(SEEDED, r.mismatchExamples().get(0).jid());
        assertEquals(shadowed - 1, r.matched());
        assertEquals(0, r.missingShadow() + r.missingPrimary());
        assertEquals(0, r.pending());
        assertEquals(0, r.duplicates());
        for (ShadowComparator c : comparators) {
            assertEquals(r.matched(), c.report().matched(), "every process reads the same comparison");
        }
    }
}
