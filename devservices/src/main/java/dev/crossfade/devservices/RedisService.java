package dev.crossfade.devservices;

import java.net.URI;

/**
 * A Redis server that code under test can talk to, wherever it runs: a local child process, a container, or a server
 * named by {@code CROSSFADE_REDIS_URL}. Tests depend on this interface rather than on {@link LocalRedis} so the same test
 * runs against all three; only fault drills, which must kill or freeze the server, need {@link #isControllable()}.
 */
public interface RedisService extends AutoCloseable {

    /** Connection URI such as {@code redis://127.0.0.1:6379}; it may carry credentials or a database for external servers. */
    URI uri();

    /** Host name or address to connect to. */
    String host();

    /** TCP port to connect to. */
    int port();

    /**
     * Whether this handle can kill, restart and freeze the server. Only {@link LocalRedis} can; an external or
     * containerised server cannot, so fault tests must check this (or create their own {@link LocalRedis}).
     */
    boolean isControllable();

    /** Releases the server if this handle owns it; for external servers it does nothing. */
    @Override
    void close();
}
