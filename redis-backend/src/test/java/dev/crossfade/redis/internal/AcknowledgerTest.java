package dev.crossfade.redis.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.POJONode;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.Outcome;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.redis.RedisBackend;
import dev.crossfade.redis.RedisBackendConfig;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.UnifiedJedis;

/**
 * Outcomes that cannot be written as they are (a job that does not encode, a retry with no due time, a retry set that
 * is not a sorted set) end as dead entries saying why, the in-progress list is emptied, and the acknowledgements
 * behind them are written too.
 */
@ExtendWith(CrossfadeServices.class)
class AcknowledgerTest {

    /** A value Jackson cannot serialise: its getter throws. */
    public static final class Unserialisable {
        public String getValue() {
            throw new IllegalStateException("cannot serialise me");
        }
    }

    @Test
    void outcomesThatCannotBeWrittenEndDeadWithAReason(RedisService service, TestNamespace ns) {
        RedisBackendConfig config = RedisBackendConfig.custom()
                .url(service.uri())
                .namespace(ns.value())
                .build();
        try (RedisBackend backend = RedisBackend.create(config)) {
            UnifiedJedis redis = backend.redis();
            Keys keys = new Keys(config.namespace());
            RedisMetrics metrics = new RedisMetrics(null);
            Set<Fetched> written = ConcurrentHashMap.newKeySet();
            Supervisor supervisor = new Supervisor("test-supervisor", metrics);
            Acknowledger acker = new Acknowledger(
                    redis,
                    new JobRetry(keys, config, new WireFormat(redis, keys, config)),
                    metrics,
                    config,
                    written::add,
                    "test-ack");
            supervisor.start();
            acker.start(supervisor);

            String list = keys.inProgress("test", "q");
            Job plain = Job.of("Broken");
            Job broken = plain.toBuilder()
                    .extra("thing", new POJONode(new Unserialisable()))
                    .build();
            Job undue = Job.of("Undue");
            Job refused = Job.of("Refused");
            Job fine = Job.of("Fine");
            Fetched a = held(redis, list, plain);
            Fetched b = held(redis, list, undue);
            Fetched d = held(redis, list, fine);
            acker.submit(a, new Outcome.Retry(broken, Instant.now(), new IllegalStateException("first try")));
            acker.submit(b, new Outcome.Retry(undue, null, new IllegalStateException("first try")));
            acker.submit(d, new Outcome.Succeeded(fine, null, true, Duration.ZERO));
            await().atMost(Duration.ofSeconds(10)).until(() -> written.containsAll(List.of(a, b, d)));

            // A retry set clobbered by something else: Redis refuses the retry for good.
            redis.set(keys.retry(), "not a sorted set");
            Fetched c = held(redis, list, refused);
            acker.submit(c, new Outcome.Retry(refused, Instant.now(), new IllegalStateException("first try")));
            await().atMost(Duration.ofSeconds(10)).until(() -> written.contains(c));

            assertEquals(0, redis.llen(list), "nothing is left in progress");
            assertEquals("not a sorted set", redis.get(keys.retry()));
            List<Job> dead = backend.admin().dead(10);
            assertEquals(
                    Set.of(broken.jid(), undue.jid(), refused.jid()),
                    Set.copyOf(dead.stream().map(Job::jid).toList()));
            for (Job j : dead) {
                assertTrue(j.errorMessage().startsWith("cannot store the outcome of this job"), j.errorMessage());
            }
            assertTrue(message(dead, broken).contains("cannot be encoded"), message(dead, broken));
            assertTrue(message(dead, refused).contains("WRONGTYPE"), message(dead, refused));
            assertTrue(acker.stop(System.nanoTime() + Duration.ofSeconds(5).toNanos()));
            supervisor.stop();
        }
    }

    private static String message(List<Job> dead, Job job) {
        return dead.stream()
                .filter(j -> j.jid().equals(job.jid()))
                .findFirst()
                .orElseThrow()
                .errorMessage();
    }

    /** Puts a job in an in-progress list, as a fetch would. */
    private static Fetched held(UnifiedJedis redis, String list, Job job) {
        byte[] payload = JobCodec.defaults().encodeEnqueued(job, Instant.now());
        redis.lpush(Keys.bytes(list), payload);
        return new Fetched("q", payload, Keys.bytes("unused"), Keys.bytes(list));
    }
}
