package dev.crossfade.router;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Job;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shadow mode with three worker JVMs on two backends: the two copies of a job usually run in different processes, and
 * the shared store pairs them anyway. A fresh reader's report (as {@code crossfade shadow-report} without {@code --url}
 * makes it) counts every comparison.
 */
@ExtendWith(CrossfadeServices.class)
class ShadowAcrossProcessesTest extends WorkerStacks {
    private static final String SEEDED = WorkerJvmMain.SEEDED;

    @TempDir
    Path dir;

    @Test
    void copiesRunInDifferentProcessesArePairedThroughTheSharedStore(
            RedisService redisServer, KafkaService kafkaServer, TestNamespace ns) throws Exception {
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
        for (int p = 0; p < 3; p++) {
            workerJvm(redisServer, kafkaServer.bootstrapServers(), ns, Duration.ofMinutes(2));
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
        assertTrue(shadowed > 2_000 && shadowed < 3_000, "about half shadowed: " + shadowed);

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
    }
}
