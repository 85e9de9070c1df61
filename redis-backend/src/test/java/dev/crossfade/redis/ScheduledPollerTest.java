package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.redis.internal.Keys;
import dev.crossfade.redis.internal.Scheduled;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Several pollers promoting the same schedule and retry sets at once never promote a job twice, nor drop one. */
@ExtendWith(CrossfadeServices.class)
class ScheduledPollerTest {

    @Test
    void concurrentPollersPromoteEachDueJobExactlyOnce(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            JobCodec codec = JobCodec.defaults();
            double past = Instant.now().minusSeconds(5).getEpochSecond();
            double future = Instant.now().plusSeconds(3600).getEpochSecond();
            Map<byte[], Double> schedule = new HashMap<>();
            Map<byte[], Double> retry = new HashMap<>();
            Set<String> due = new HashSet<>();
            for (int i = 0; i < 3000; i++) {
                Job job = Job.builder("HardWorker")
                        .args(i)
                        .queue(i % 2 == 0 ? "default" : "mailers")
                        .build();
                boolean isDue = i % 10 != 0;
                (i % 3 == 0 ? retry : schedule).put(codec.encode(job), isDue ? past : future);
                if (isDue) {
                    due.add(job.jid());
                }
            }
            backend.redis().zadd(Keys.bytes(backend.key("schedule")), schedule);
            backend.redis().zadd(Keys.bytes(backend.key("retry")), retry);

            Keys keys = new Keys(backend.config().namespace());
            int pollers = 4;
            ExecutorService pool = Executors.newFixedThreadPool(pollers);
            List<Future<Long>> promoted = new ArrayList<>();
            for (int p = 0; p < pollers; p++) {
                Scheduled poller = new Scheduled(backend.redis(), keys, backend.config());
                promoted.add(pool.submit((Callable<Long>) poller::promoteDue));
            }
            long total = 0;
            for (Future<Long> f : promoted) {
                total += f.get();
            }
            pool.shutdown();

            List<String> queued = new ArrayList<>();
            for (String q : List.of("default", "mailers")) {
                for (byte[] raw : backend.redis().lrange(Keys.bytes(backend.key("queue:" + q)), 0, -1)) {
                    Job job = codec.decode(new String(raw, StandardCharsets.UTF_8));
                    assertEquals(q, job.queue(), "promoted to the queue the job names");
                    queued.add(job.jid());
                }
            }
            assertEquals(due.size(), total, "promotions counted by the pollers");
            assertEquals(due.size(), queued.size(), "no job promoted twice");
            assertEquals(due, new HashSet<>(queued), "every due job promoted");
            assertEquals(300, backend.admin().scheduledSize() + backend.admin().retrySize(), "future jobs stay put");
            assertEquals(Set.of("default", "mailers"), backend.redis().smembers(backend.key("queues")));
        }
    }
}
