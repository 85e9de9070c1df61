package dev.crossfade.redis;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.JobQueue;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.codec.JobCodec;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.tck.BackendFixture;
import dev.crossfade.tck.JobQueueContract;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;

/** The backend contract suite on a real redis-server, each test under its own key namespace. */
@ExtendWith(CrossfadeServices.class)
class RedisContractTest extends JobQueueContract {
    private static RedisService redis;

    @BeforeAll
    static void shareRedis(RedisService shared) {
        redis = shared;
    }

    @Override
    protected BackendFixture createFixture(String namespace) {
        return backendFixture(
                redis.uri(),
                namespace,
                redis instanceof LocalRedis local
                        ? Optional.of(BackendFixture.Freezable.of(local::pause, local::resume))
                        : Optional.empty());
    }

    /** A backend on the Redis at {@code url} under {@code namespace}; {@code server} freezes the one it writes to. */
    static BackendFixture backendFixture(URI url, String namespace, Optional<BackendFixture.Freezable> server) {
        RedisBackend backend =
                RedisBackend.create(TestConfigs.fast(url, namespace).build());
        return new BackendFixture() {
            @Override
            public Backend backend() {
                return Backend.REDIS;
            }

            @Override
            public JobQueue queue() {
                return backend.queue();
            }

            @Override
            public WorkerRuntime workers(ExecutionCore core, Set<String> queues, int concurrency) {
                return backend.workers(core, queues, concurrency);
            }

            @Override
            public void pushRaw(String queue, byte[] payload) {
                backend.redis().sadd(backend.key("queues"), queue);
                backend.redis().lpush(backend.key("queue:" + queue).getBytes(StandardCharsets.UTF_8), payload);
            }

            @Override
            public List<Job> dead() {
                List<Job> out = new ArrayList<>();
                for (byte[] raw : backend.redis().zrange(backend.key("dead").getBytes(StandardCharsets.UTF_8), 0, -1)) {
                    out.add(JobCodec.builder()
                            .maxPayloadBytes(Integer.MAX_VALUE)
                            .build()
                            .decode(raw));
                }
                return out;
            }

            @Override
            public Optional<Freezable> server() {
                return server;
            }

            @Override
            public void close() {
                backend.close();
            }
        };
    }
}
