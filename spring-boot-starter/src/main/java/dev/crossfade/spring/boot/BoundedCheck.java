package dev.crossfade.spring.boot;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a health check on a thread of its own and gives up after a timeout, so that a server that accepts the
 * connection and never answers cannot hold the health endpoint (and whoever polls it) for a client's full timeout.
 */
final class BoundedCheck implements AutoCloseable {
    private final ExecutorService thread;
    private final Duration timeout;

    BoundedCheck(String name, Duration timeout) {
        this.timeout = timeout;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** The check's result, or throws: {@link TimeoutException} past the timeout, else what the check threw. */
    <T> T run(Callable<T> check) throws Exception {
        Future<T> result = thread.submit(check);
        try {
            return result.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            result.cancel(true);
            throw new TimeoutException("no answer within " + timeout);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof Exception cause ? cause : e;
        }
    }

    Duration timeout() {
        return timeout;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
