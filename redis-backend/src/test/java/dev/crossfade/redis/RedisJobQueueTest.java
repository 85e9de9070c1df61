package dev.crossfade.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Backend;
import dev.crossfade.api.EnqueueException;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.codec.PayloadTooLargeException;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.net.ServerSocket;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.resps.Tuple;

/** The producer side writes Sidekiq's exact layout, under the namespace, and reports failures to the caller. */
@ExtendWith(CrossfadeServices.class)
class RedisJobQueueTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void enqueueWritesSidekiqLayoutUnderTheNamespace(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            Instant before = Instant.now();
            String jid = backend.queue()
                    .enqueue(Job.builder("HardWorker")
                            .args(1, "two")
                            .queue("critical")
                            .build());

            assertEquals(Set.of("critical"), backend.redis().smembers(ns.value() + ":queues"));
            List<String> raw = backend.redis().lrange(ns.value() + ":queue:critical", 0, -1);
            assertEquals(1, raw.size());
            JsonNode json = JSON.readTree(raw.get(0));
            assertEquals(jid, json.get("jid").asText());
            assertEquals("HardWorker", json.get("class").asText());
            assertEquals("[1,\"two\"]", json.get("args").toString());
            assertEquals("critical", json.get("queue").asText());
            assertTrue(json.get("enqueued_at").isFloatingPointNumber(), "epoch seconds float: " + json);
            assertTrue(json.get("enqueued_at").asDouble() >= before.getEpochSecond());
            assertFalse(json.has("at"));
            assertFalse(backend.redis().exists("queue:critical"), "nothing outside the namespace");
        }
    }

    /**
     * A command Redis answers with an error inside the pipeline (here WRONGTYPE; after a restart, LOADING) is an
     * enqueue failure, not a silent success: the router must see it to fall back, or the job is lost.
     */
    @Test
    void anErrorReplyInsideThePipelineFailsTheEnqueue(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            backend.redis().set(ns.value() + ":queue:broken", "not a list");
            EnqueueException e = assertThrows(
                    EnqueueException.class,
                    () -> backend.queue()
                            .enqueue(Job.builder("HardWorker").queue("broken").build()));
            assertTrue(e.getMessage().contains("LPUSH " + ns.value() + ":queue:broken"), e.getMessage());
            assertTrue(e.getMessage().contains("WRONGTYPE"), e.getMessage());
        }
    }

    @Test
    void scheduledJobGoesToTheScheduleScoredByTimeWithoutAtKey(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            Instant at = Instant.now().plus(Duration.ofMinutes(5));
            String jid = backend.queue().enqueueAt(Job.of("LaterWorker", 1), at);
            List<Tuple> entries = backend.redis().zrangeWithScores(ns.value() + ":schedule", 0, -1);
            assertEquals(1, entries.size());
            JsonNode json = JSON.readTree(entries.get(0).getElement());
            assertEquals(jid, json.get("jid").asText());
            assertFalse(json.has("at"), "Sidekiq removes 'at' before ZADD: the score is the schedule");
            assertEquals(at.toEpochMilli() / 1000.0, entries.get(0).getScore(), 0.001);

            String now = backend.queue()
                    .enqueueAt(Job.of("LaterWorker", 2), Instant.now().minusSeconds(1));
            assertEquals(1, backend.redis().llen(ns.value() + ":queue:default"), "a time in the past means now");
            assertEquals(Map.of("default", 1L), backend.admin().queueSizes());
            assertEquals(1, backend.admin().scheduledSize());
            assertNotNull(now);
        }
    }

    @Test
    void enqueueAllIsOneBatchAcrossQueuesInOrder(RedisService redis, TestNamespace ns) throws Exception {
        try (RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value()).build())) {
            List<Job> jobs = new ArrayList<>();
            for (int i = 0; i < 2500; i++) {
                jobs.add(Job.builder("BulkWorker")
                        .args(i)
                        .queue(i % 5 == 0 ? "low" : "default")
                        .build());
            }
            List<String> jids = backend.queue().enqueueAll(jobs);
            assertEquals(jobs.stream().map(Job::jid).toList(), jids);
            assertEquals(Map.of("default", 2000L, "low", 500L), backend.admin().queueSizes());
            // Sidekiq consumes from the right: the first job enqueued is the first fetched.
            String oldest = backend.redis().lindex(ns.value() + ":queue:default", -1);
            assertEquals(jids.get(1), JSON.readTree(oldest).get("jid").asText());
        }
    }

    @Test
    void oversizedJobIsRejectedBeforeAnythingIsSent(RedisService redis, TestNamespace ns) {
        try (RedisBackend backend = RedisBackend.create(TestConfigs.fast(redis.uri(), ns.value())
                .codec(JobCodec.builder().maxPayloadBytes(1024).build())
                .build())) {
            List<Job> jobs = List.of(Job.of("W", "small"), Job.of("W", "x".repeat(2000)));
            assertThrows(PayloadTooLargeException.class, () -> backend.queue().enqueueAll(jobs));
            assertFalse(backend.redis().exists(ns.value() + ":queue:default"), "not even the small one was sent");
        }
    }

    @Test
    void unreachableRedisIsAnEnqueueExceptionNamingOperationAndServer() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String url = "redis://app:hunter2@127.0.0.1:" + port + "/2";
        try (RedisBackend backend = RedisBackend.create(RedisBackendConfig.custom()
                .url(url)
                .connectTimeout(Duration.ofMillis(500))
                .build())) {
            EnqueueException e =
                    assertThrows(EnqueueException.class, () -> backend.queue().enqueue(Job.of("HardWorker", 1)));
            assertEquals(Backend.REDIS, e.backend());
            assertTrue(e.getMessage().contains("LPUSH queue:default"), e.getMessage());
            assertTrue(e.getMessage().contains("redis://app:***@127.0.0.1:" + port + "/2"), e.getMessage());
            assertFalse(e.getMessage().contains("hunter2"), "no password in messages: " + e.getMessage());
            assertNotNull(e.getCause());
            EnqueueException scheduled = assertThrows(
                    EnqueueException.class,
                    () -> backend.queue().enqueueIn(Job.of("HardWorker", 1), Duration.ofMinutes(1)));
            assertTrue(scheduled.getMessage().contains("ZADD schedule"), scheduled.getMessage());
        }
    }

    @Test
    void aclUserPasswordAndDatabaseComeFromTheUrl() {
        try (LocalRedis server = LocalRedis.builder().build().start();
                RedisClient admin = RedisClient.create(server.uri())) {
            admin.sendCommand(
                    redis.clients.jedis.Protocol.Command.ACL, "SETUSER", "app", "on", ">s3cret", "~*", "&*", "+@all");
            String url = "redis://app:s3cret@" + server.host() + ":" + server.port() + "/3";
            try (RedisBackend backend = RedisBackend.create(url)) {
                String jid = backend.queue().enqueue(Job.of("HardWorker", 1));
                assertTrue(backend.redis().lindex("queue:default", 0).contains(jid));
            }
            try (RedisClient db3 = RedisClient.create(server.uri().resolve("/3"))) {
                assertEquals(1, db3.llen("queue:default"), "written to database 3");
            }
            assertEquals(0, admin.llen("queue:default"), "not to database 0");
            try (RedisBackend wrong = RedisBackend.create("redis://app:nope@" + server.host() + ":" + server.port())) {
                EnqueueException e =
                        assertThrows(EnqueueException.class, () -> wrong.queue().enqueue(Job.of("HardWorker", 1)));
                assertTrue(
                        e.getMessage().toLowerCase().contains("wrongpass")
                                || e.getMessage().toLowerCase().contains("invalid"),
                        e.getMessage());
            }
        }
    }
}
