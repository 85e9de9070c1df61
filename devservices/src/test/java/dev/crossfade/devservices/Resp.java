package dev.crossfade.devservices;

import java.io.IOException;
import java.time.Duration;

/** Test shorthand for {@link RespClient} against a {@link RedisService}: checks a server without a Redis library. */
final class Resp {
    private Resp() {}

    /** Sends one command; returns String, Long, List or null; throws IOException for -ERR replies and I/O failures. */
    static Object call(RedisService redis, String... args) throws IOException {
        return RespClient.call(redis.host(), redis.port(), Duration.ofSeconds(2), args);
    }
}
