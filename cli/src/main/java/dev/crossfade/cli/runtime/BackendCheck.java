package dev.crossfade.cli.runtime;

import dev.crossfade.api.Backend;
import java.util.Map;

/**
 * One look at a backend's server: it answers, and what it holds (queue sizes, failures, lag). Run by
 * {@link BackendMonitor} on a thread of the backend's own, so a server that hangs holds up nothing else.
 */
interface BackendCheck extends AutoCloseable {
    Backend backend();

    /** Where the server is, safe to print (no password). */
    String address();

    /**
     * Reads the server.
     *
     * @return the facts for status and the dashboard, by name
     * @throws RuntimeException when the server cannot be reached or refuses
     */
    Map<String, Object> read();

    @Override
    void close();
}
