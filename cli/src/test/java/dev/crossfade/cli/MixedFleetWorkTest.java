package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerProvider;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.RouteDecision;
import dev.crossfade.flags.file.FlagsFile;
import dev.crossfade.tck.SidekiqScripts;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import redis.clients.jedis.RedisClient;
import redis.clients.jedis.resps.Tuple;

/**
 * The fleet a migration runs in: Ruby Sidekiq (6.4 from Debian, and 8.1.7 on JRuby from the sidekiq8 kit) and two
 * {@code crossfade work} JVMs on the same Redis queue, Kafka beside it, through a shadow phase. Ruby never runs a shadow
 * copy, every job's real copy runs once somewhere, every shadow copy runs in Java; a class only Ruby knows, fetched by
 * Java, goes where Sidekiq puts a failure (the retry set, with Sidekiq's backoff; nowhere for {@code retry: false}) and
 * is then run by Ruby. Ruby's Sidekiq uses Redis's root keys, so the test has a private Redis. Ruby's server starts with
 * the test and waits on a key before it joins, so its boot (seconds on JRuby) overlaps the phase in which only Java
 * works the queue.
 */
@ExtendWith(CrossfadeServices.class)
class MixedFleetWorkTest {
    private static final Path RUBY = Path.of("src", "test", "ruby").toAbsolutePath();
    private static final int SHADOW_PHASE = 2_000;
    private static final int RUBY_ONLY = 10;

    private static LocalRedis redis;

    @TempDir
    Path dir;

    /** The Java half of the fleet, loaded by {@code crossfade work} through {@code workers.providers}. */
    public static final class Workers implements WorkerProvider {
        @Override
        public void register(WorkerRegistry.Builder registry) {
            RedisClient r = RedisClient.create(java.net.URI.create(System.getenv("FLEET_REDIS_URL")));
            registry.register(
                    "Charge",
                    (args, ctx) -> {
                        r.hincrBy(ctx.shadow() ? "test:java-shadow" : "test:java-ran", ctx.jid(), 1);
                        ctx.result(args.get(0).asLong() * 2);
                    },
                    WorkerOptions.custom().shadowSafe(true).build());
        }
    }

    /** The key Ruby's server waits for (fleet.rb) before it registers and fetches. */
    private static final String GO = "test:ruby-go";

    @BeforeAll
    static void privateRedis() {
        redis = LocalRedis.builder().build().start();
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
        }
    }

    private Path config(KafkaService kafka, TestNamespace ns) throws Exception {
        Path c = dir.resolve("crossfade.yml");
        Files.writeString(c, """
                redis:
                  url: %s
                  namespace: ""
                kafka:
                  bootstrap: %s
                  topic-prefix: %s
                  partitions: 2
                flags:
                  file: %s
                  start-wait: 2s
                workers:
                  providers: %s
                  concurrency: 4
                  shutdown-timeout: 5s
                http:
                  port: 0
                """.formatted(
                redis.uri(), kafka.bootstrapServers(), ns.value(), dir.resolve("flags.json"), Workers.class.getName()));
        return c;
    }

    private Process sidekiq(RubySidekiq sidekiq, Path log) throws Exception {
        List<String> cmd = new ArrayList<>(sidekiq.server());
        cmd.addAll(List.of("-r", "./fleet.rb", "-q", "default", "-c", "5"));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .directory(RUBY.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("REDIS_URL", redis.uri().toString());
        pb.environment().put("RUBYOPT", "-W0");
        pb.environment().put("FLEET_GO", GO);
        pb.environment().put("RUBYLIB", SidekiqScripts.rubyLibPath(System.getenv("RUBYLIB")));
        return pb.start();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(RubySidekiq.class)
    void rubyAndTwoWorkProcessesShareAQueueThroughAShadowPhase(
            RubySidekiq sidekiq, KafkaService kafka, TestNamespace ns) throws Exception {
        Path c = config(kafka, ns);
        RedisClient r = RedisClient.create(redis.uri());
        r.flushAll();
        Path rubyLog = dir.resolve("sidekiq.log");
        // Started first, joins at step 2: its boot overlaps the Java-only step.
        Process ruby = sidekiq(sidekiq, rubyLog);
        // Half the jobs to Kafka, every job shadowed: a Kafka job's copy on Redis is the shadow Ruby must not run.
        FlagsFile.at(dir.resolve("flags.json")).write(new FlagsFile.Settings(50, false, 100));
        Map<String, String> env = Map.of("FLEET_REDIS_URL", redis.uri().toString());
        try (Node app = Node.start(CrossfadeConfig.load(c, Map.of()), new SimpleMeterRegistry());
                CliProcess w1 = CliProcess.start(dir, env, "work", "-c", c.toString());
                CliProcess w2 = CliProcess.start(dir, env, "work", "-c", c.toString())) {
            w1.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));
            w2.awaitLine(l -> l.contains("working queues"), Duration.ofSeconds(60));

            // 1. Only Java works the queue: it fetches every job of a class only Ruby knows.
            List<String> retried = new ArrayList<>();
            List<String> discarded = new ArrayList<>();
            List<Job> rubyOnly = new ArrayList<>();
            for (int i = 0; i < RUBY_ONLY; i++) {
                Job a = Job.builder("RubyOnly").args(i).retry(2).build();
                Job b = Job.builder("RubyOnly").args(i).retry(false).build();
                rubyOnly.addAll(List.of(a, b));
                retried.add(a.jid());
                discarded.add(b.jid());
            }
            app.redis().queue().enqueueAll(rubyOnly);
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                assertEquals(0, r.zcard("dead"), "a Ruby-only job went to the dead set");
                return r.llen("queue:default") == 0 && r.zcard("retry") == RUBY_ONLY;
            });
            assertEquals(0, r.zcard("dead"), "nothing dead: retry: 2 is retried, retry: false discarded");
            for (Tuple t : r.zrangeWithScores("retry".getBytes(StandardCharsets.UTF_8), 0, -1)) {
                Job j = JobCodec.defaults().decode(t.getBinaryElement());
                assertTrue(retried.contains(j.jid()), "only retry: 2 jobs wait for a retry");
                assertEquals(0, j.retryCount(), "first failure, as Sidekiq counts it");
                assertNotNull(j.errorClass());
                double wait = t.getScore() - j.failedAt().toEpochMilli() / 1000.0;
                // Sidekiq's backoff for a first retry: 15 s plus up to 9 s of jitter.
                assertTrue(wait >= 14.9 && wait < 25, "retry due " + wait + " s after the failure");
            }
            CliTestSupport.Result status = CliTestSupport.run("status", "-c", c.toString());
            assertTrue(status.out().contains("RubyOnly"), "status warns of the unknown class:\n" + status.out());

            // 2. Ruby joins; a shadow phase runs through the router an application would use.
            r.set(GO, "1");
            Process started = ruby;
            // Sidekiq Web's process set: the two Java processes, then Ruby's once it fetches (JRuby may still be
            // booting).
            await().atMost(Duration.ofSeconds(120)).until(() -> {
                if (!started.isAlive()) {
                    fail("sidekiq exited:\n" + Files.readString(rubyLog));
                }
                return r.scard("processes") >= 3;
            });
            // The Ruby that joined is the Sidekiq this case is about (its heartbeat names its version).
            assertTrue(
                    r.smembers("processes").stream()
                            .map(id -> String.valueOf(r.hget(id, "info")))
                            .filter(info -> !info.equals("null"))
                            .anyMatch(sidekiq::wroteHeartbeat),
                    "no " + sidekiq + " process registered");
            List<Job> jobs = new ArrayList<>();
            Set<String> kafkaPrimary = new HashSet<>();
            long shadowed = 0;
            for (int i = 0; i < SHADOW_PHASE; i++) {
                Job j = Job.builder("Charge").args(i).build();
                jobs.add(j);
                RouteDecision d = app.flags().decide(j);
                if (d.primary() == Backend.KAFKA) {
                    kafkaPrimary.add(j.jid());
                }
                shadowed += d.shadowed() ? 1 : 0;
            }
            assertEquals(SHADOW_PHASE, shadowed);
            assertTrue(kafkaPrimary.size() > SHADOW_PHASE / 4 && kafkaPrimary.size() < SHADOW_PHASE * 3 / 4);
            for (int i = 0; i < jobs.size(); i += 200) {
                app.router().enqueueAll(jobs.subList(i, i + 200));
            }
            Process sk = started;
            await().atMost(Duration.ofSeconds(90)).until(() -> {
                if (!sk.isAlive()) {
                    fail("sidekiq exited:\n" + Files.readString(rubyLog));
                }
                assertEquals(Set.of(), r.smembers("test:ruby-shadow"), "Ruby was handed a shadow copy");
                return r.hlen("test:java-shadow") == SHADOW_PHASE
                        && r.hlen("test:java-ran") + r.hlen("test:ruby-ran") == SHADOW_PHASE;
            });

            // 3. Java stops; the retries come due (brought forward: Sidekiq's backoff was checked above) and Ruby
            // runs them.
            w1.close();
            w2.close();
            for (byte[] e : r.zrange("retry".getBytes(StandardCharsets.UTF_8), 0, -1)) {
                r.zadd("retry".getBytes(StandardCharsets.UTF_8), 0, e);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                if (!sk.isAlive()) {
                    fail("sidekiq exited:\n" + Files.readString(rubyLog));
                }
                return retried.stream().allMatch(j -> r.hexists("test:ruby-ran", j));
            });

            Map<String, String> rubyRan = r.hgetAll("test:ruby-ran");
            Map<String, String> javaRan = r.hgetAll("test:java-ran");
            Map<String, String> javaShadow = r.hgetAll("test:java-shadow");
            assertEquals(Set.of(), r.smembers("test:ruby-shadow"), "Ruby was handed a shadow copy");
            assertTrue(
                    kafkaPrimary.stream().noneMatch(rubyRan::containsKey),
                    "Ruby ran the Redis shadow copy of a job whose real copy went to Kafka");
            for (Job j : jobs) {
                int runs = Integer.parseInt(rubyRan.getOrDefault(j.jid(), "0"))
                        + Integer.parseInt(javaRan.getOrDefault(j.jid(), "0"));
                assertEquals(1, runs, "real copy of " + j.jid() + " ran " + runs + " times");
                assertEquals("1", javaShadow.get(j.jid()), "shadow copy of " + j.jid() + " in Java");
            }
            assertTrue(
                    rubyRan.keySet().stream().anyMatch(j -> !retried.contains(j)),
                    "Ruby worked the shared queue during the shadow phase");
            assertTrue(discarded.stream().noneMatch(rubyRan::containsKey), "retry: false is discarded, as in Sidekiq");
            retried.forEach(j -> assertEquals("1", rubyRan.get(j), "Ruby ran the retried job " + j));
            assertFalse(r.exists("dead") && r.zcard("dead") > 0, "nothing dead");
        } finally {
            ruby.destroy();
            if (!ruby.waitFor(30, TimeUnit.SECONDS)) {
                ruby.destroyForcibly();
            }
            r.close();
        }
    }
}
