package dev.crossfade.devservices;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalRedisTest {

    @Test
    void dataWrittenWithFsyncAlwaysSurvivesSigkillAndRestartOnTheSamePort() throws Exception {
        try (LocalRedis redis = LocalRedis.builder()
                .appendOnly(true)
                .fsyncAlways(true)
                .maxmemoryPolicy("noeviction")
                .build()
                .start()) {
            int port = redis.port();
            assertEquals("redis://127.0.0.1:" + port, redis.uri().toString());
            assertEquals("OK", Resp.call(redis, "SET", "crossfade:k", "v1"));
            assertEquals(
                    List.of("maxmemory-policy", "noeviction"), Resp.call(redis, "CONFIG", "GET", "maxmemory-policy"));
            assertEquals(List.of("appendfsync", "always"), Resp.call(redis, "CONFIG", "GET", "appendfsync"));

            long pid = redis.pid();
            redis.kill();
            assertFalse(redis.isRunning());
            assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
            assertThrows(ConnectException.class, () -> Resp.call(redis, "PING"));

            redis.restart();
            assertTrue(redis.isRunning());
            assertEquals(port, redis.port());
            assertNotEquals(pid, redis.pid());
            assertEquals("v1", Resp.call(redis, "GET", "crossfade:k"));

            redis.stop();
            assertFalse(redis.isRunning());
            assertThrows(ConnectException.class, () -> Resp.call(redis, "PING"));
        }
    }

    /** Without redis-server the error says how to install it (and how to use a server one already has). */
    @Test
    void aMissingRedisServerSaysHowToInstallIt(@TempDir Path dir) {
        try (LocalRedis redis =
                LocalRedis.builder().executable(dir.resolve("redis-server")).build()) {
            DevServiceException e = assertThrows(DevServiceException.class, redis::start);
            assertTrue(e.getMessage().contains("apt-get install redis-server"), e.getMessage());
            assertTrue(e.getMessage().contains("CROSSFADE_REDIS_URL"), e.getMessage());
        }
    }

    @Test
    void defaultsDisableRdbAndCloseDeletesTheDirectory() throws Exception {
        Path dir;
        try (LocalRedis redis = LocalRedis.builder().build().start()) {
            dir = redis.directory();
            assertTrue(Files.isDirectory(dir));
            assertEquals(List.of("save", ""), Resp.call(redis, "CONFIG", "GET", "save"));
            assertEquals(List.of("appendonly", "no"), Resp.call(redis, "CONFIG", "GET", "appendonly"));
            // start() on a running server is a no-op
            long pid = redis.pid();
            redis.start();
            assertEquals(pid, redis.pid());
        }
        assertFalse(Files.exists(dir));
    }

    @Test
    void gracefulStopKeepsAofDataAndRestartAfterStopWorks() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().appendOnly(true).build().start()) {
            Resp.call(redis, "RPUSH", "queue:default", "a", "b");
            redis.restart(); // graceful stop (SIGTERM) + start
            assertEquals(2L, Resp.call(redis, "LLEN", "queue:default"));
        }
    }

    @Test
    void pauseFreezesTheServerAndResumeThawsIt() throws Exception {
        try (LocalRedis redis = LocalRedis.builder().build().start()) {
            redis.pause();
            assertTrue(redis.isRunning());
            assertTrue(redis.isPaused());
            // the kernel still accepts the connection, but nobody answers
            assertThrows(SocketTimeoutException.class, () -> Resp.call(redis, "PING"));
            redis.resume();
            await().atMost(Duration.ofSeconds(5)).until(() -> "PONG".equals(ping(redis)));
        }
    }

    @Test
    void stopAndCloseWorkOnAPausedServer() {
        LocalRedis redis = LocalRedis.builder().build().start();
        redis.pause();
        redis.close();
        assertFalse(redis.isRunning());
        assertThrows(IllegalStateException.class, redis::start);
    }

    private static Object ping(RedisService redis) {
        try {
            return Resp.call(redis, "PING");
        } catch (IOException e) {
            return e;
        }
    }
}
