package dev.crossfade.devservices;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * One Redis Sentinel ({@code redis-server sentinel.conf --sentinel}) on a free loopback port, watching one master. Its
 * configuration file lives in its own directory and Sentinel rewrites it as it learns the topology, so a restart
 * keeps what it knew (as a real one does).
 */
final class LocalSentinel extends LocalServer<LocalSentinel> {
    private static final String HOST = "127.0.0.1";
    private final Path executable;
    private final String masterName;
    private final int masterPort;
    private final Duration downAfter;
    private final Duration failoverTimeout;
    private int port;

    LocalSentinel(Path executable, String masterName, int masterPort, Duration downAfter, Duration failoverTimeout) {
        super("redis-sentinel", Duration.ofSeconds(10));
        this.executable = executable;
        this.masterName = masterName;
        this.masterPort = masterPort;
        this.downAfter = downAfter;
        this.failoverTimeout = failoverTimeout;
    }

    @Override
    Duration shutdownTimeout() {
        return Duration.ofSeconds(10);
    }

    @Override
    String address() {
        return HOST + ":" + port;
    }

    int port() {
        return port;
    }

    @Override
    public synchronized Path logFile() {
        return directory == null ? null : directory.resolve("sentinel.log");
    }

    @Override
    public synchronized LocalSentinel start() {
        ensureOpen();
        if (isRunning()) {
            return this;
        }
        Path conf;
        try {
            if (directory == null) {
                directory = Files.createTempDirectory("crossfade-sentinel-");
                Processes.trackDirectory(directory);
                port = Processes.freePort();
                Files.writeString(
                        directory.resolve("sentinel.conf"),
                        String.join(
                                "\n",
                                "port " + port,
                                "bind " + HOST,
                                "daemonize no",
                                "dir " + directory,
                                "logfile " + logFile(),
                                "sentinel monitor " + masterName + " " + HOST + " " + masterPort + " 2",
                                "sentinel down-after-milliseconds " + masterName + " " + downAfter.toMillis(),
                                "sentinel failover-timeout " + masterName + " " + failoverTimeout.toMillis(),
                                "sentinel parallel-syncs " + masterName + " 1",
                                ""));
            }
            conf = directory.resolve("sentinel.conf");
            process = new ProcessBuilder(List.of(executable.toString(), conf.toString(), "--sentinel"))
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(
                            directory.resolve("sentinel.stdout").toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start a sentinel in " + directory, e);
        }
        Processes.track(process);
        paused = false;
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new DevServiceException("redis-sentinel exited with code " + process.exitValue() + "\n"
                        + Processes.tail(logFile(), 20) + Processes.tail(directory.resolve("sentinel.stdout"), 10));
            }
            try {
                if ("PONG".equals(RespClient.call(HOST, port, Duration.ofMillis(500), "PING"))) {
                    return this;
                }
            } catch (IOException e) {
                // not listening yet
            }
            if (System.nanoTime() > deadline) {
                throw new DevServiceException("redis-sentinel on port " + port + " did not answer PING in 10s\n"
                        + Processes.tail(logFile(), 20));
            }
            sleep(Duration.ofMillis(20));
        }
    }

    /** The master's port as this sentinel sees it, or -1 when it cannot say. */
    int masterPort() {
        try {
            Object reply = RespClient.call(
                    HOST, port, Duration.ofMillis(500), "SENTINEL", "get-master-addr-by-name", masterName);
            if (reply instanceof List<?> l && l.size() == 2) {
                return Integer.parseInt(String.valueOf(l.get(1)));
            }
        } catch (IOException | RuntimeException e) {
            // down or restarting: no opinion
        }
        return -1;
    }

    @Override
    public synchronized String toString() {
        return "LocalSentinel[" + address() + state() + "]";
    }
}
