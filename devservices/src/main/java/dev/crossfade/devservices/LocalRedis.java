package dev.crossfade.devservices;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real {@code redis-server} run as a child process on a free loopback port, so tests and the demo exercise the same
 * server the Sidekiq side uses, without Docker. It exists mainly for fault drills: unlike a container or an external
 * server it can be SIGKILLed, restarted on the same port and data directory (so persistence can be checked), and frozen
 * with SIGSTOP to imitate a hung server.
 *
 * <p>Instances are created with {@link #builder()}; the configuration is immutable. The data directory is a fresh
 * temporary directory, deleted by {@link #close()} and, as a safety net, when the JVM exits. Not for production use.
 *
 * <pre>{@code
 * try (LocalRedis redis = LocalRedis.builder().appendOnly(true).fsyncAlways(true).build().start()) {
 *     String url = redis.uri().toString();   // redis://127.0.0.1:PORT
 *     redis.kill();                          // SIGKILL
 *     redis.restart();                       // same port, same data
 * }
 * }</pre>
 */
public final class LocalRedis extends LocalServer<LocalRedis> implements RedisService {
    private static final Logger LOG = LoggerFactory.getLogger(LocalRedis.class);
    private static final String HOST = "127.0.0.1";
    private static final String INSTALL_HINT =
            "redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install redis-server`; macOS: "
                    + "`brew install redis`), or set CROSSFADE_REDIS_URL to use an existing server.";

    private final Config config;
    private int port;
    /** Where {@link #startAsReplicaOf} pointed the node: it starts as that node's replica from then on. */
    private LocalRedis replicaOf;

    private LocalRedis(Config config) {
        super("redis-server", Duration.ofSeconds(10));
        this.config = config;
    }

    @Override
    Duration shutdownTimeout() {
        return Duration.ofSeconds(10);
    }

    @Override
    String address() {
        return HOST + ":" + port;
    }

    /** Starts a configuration; every option has a test-friendly default (no persistence, free port). */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the server and waits until it answers {@code PING}. The first call picks the port and creates the data
     * directory; later calls (after {@link #stop()} or {@link #kill()}) reuse both. Does nothing if already running.
     *
     * @return this, for chaining
     * @throws DevServiceException if redis-server is missing, exits, or does not answer within the startup timeout
     */
    public synchronized LocalRedis start() {
        ensureOpen();
        if (isRunning()) {
            return this;
        }
        Path executable = config.executable != null ? config.executable : Processes.onPath("redis-server");
        if (executable == null || !Files.isExecutable(executable)) {
            throw new DevServiceException(INSTALL_HINT);
        }
        if (directory == null) {
            try {
                directory = Files.createTempDirectory("crossfade-redis-");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a temporary directory for redis-server", e);
            }
            Processes.trackDirectory(directory);
            port = config.port > 0 ? config.port : Processes.freePort();
        }
        List<String> command = command(executable);
        long begin = System.nanoTime();
        try {
            process = new ProcessBuilder(command)
                    .directory(directory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(
                            directory.resolve("redis.stdout").toFile()))
                    .start();
        } catch (IOException e) {
            throw new DevServiceException("cannot run " + executable + ": " + e.getMessage() + ". " + INSTALL_HINT, e);
        }
        Processes.track(process);
        paused = false;
        awaitPong();
        LOG.info(
                "redis-server pid {} ready at {} in {} ms (dir {})",
                process.pid(),
                uri(),
                Duration.ofNanos(System.nanoTime() - begin).toMillis(),
                directory);
        return this;
    }

    /**
     * Starts the node as a replica of {@code master}, never answering as a master in between (as a host whose
     * configuration names its new master); later restarts keep that. Does nothing if already running.
     */
    synchronized LocalRedis startAsReplicaOf(LocalRedis master) {
        replicaOf = master;
        return start();
    }

    private List<String> command(Path executable) {
        List<String> cmd = new ArrayList<>();
        cmd.add(executable.toString());
        cmd.addAll(List.of(
                "--port",
                Integer.toString(port),
                "--bind",
                HOST,
                "--protected-mode",
                "no",
                "--daemonize",
                "no",
                "--dir",
                directory.toString(),
                "--logfile",
                logFile().toString(),
                "--save",
                config.save,
                "--appendonly",
                config.appendOnly ? "yes" : "no",
                "--appendfsync",
                config.fsyncAlways ? "always" : "everysec"));
        if (config.maxmemoryPolicy != null) {
            cmd.addAll(List.of("--maxmemory-policy", config.maxmemoryPolicy));
        }
        cmd.addAll(config.extraArgs);
        if (replicaOf != null) {
            // After the configured arguments: the last --replicaof wins.
            cmd.addAll(List.of("--replicaof", HOST, Integer.toString(replicaOf.port())));
        }
        return cmd;
    }

    private void awaitPong() {
        long deadline = System.nanoTime() + config.startupTimeout.toNanos();
        String last = "no answer yet";
        while (true) {
            if (!process.isAlive()) {
                throw failure("redis-server exited with code " + process.exitValue() + " before answering PING", null);
            }
            try {
                last = ping(Duration.ofMillis(500));
                if ("+PONG".equals(last)) {
                    return;
                }
            } catch (IOException e) {
                last = e.toString();
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                Processes.awaitExit(process, Duration.ofSeconds(5));
                throw failure(
                        "redis-server did not answer PING with +PONG within " + config.startupTimeout
                                + " (last answer: " + last + ")",
                        null);
            }
            sleep(Duration.ofMillis(20));
        }
    }

    /** One raw-socket RESP PING; returns the reply line, e.g. {@code +PONG} or {@code -LOADING ...}. */
    private String ping(Duration timeout) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(HOST, port), (int) timeout.toMillis());
            socket.setSoTimeout((int) timeout.toMillis());
            OutputStream out = socket.getOutputStream();
            out.write("*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            BufferedReader in =
                    new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            String line = in.readLine();
            return line == null ? "connection closed" : line;
        }
    }

    private DevServiceException failure(String what, Throwable cause) {
        String msg = what + " [port " + port + ", dir " + directory + "]\n--- tail of " + logFile() + " ---\n"
                + Processes.tail(logFile(), 30) + "\n--- tail of redis.stdout ---\n"
                + Processes.tail(directory.resolve("redis.stdout"), 10);
        return new DevServiceException(msg, cause);
    }

    @Override
    public String host() {
        return HOST;
    }

    /**
     * @throws IllegalStateException before the first {@link #start()}, when no port is chosen yet
     */
    @Override
    public synchronized int port() {
        if (port == 0) {
            throw new IllegalStateException("LocalRedis has no port before start()");
        }
        return port;
    }

    @Override
    public URI uri() {
        return URI.create("redis://" + HOST + ":" + port());
    }

    /** Always true: this handle owns the process. */
    @Override
    public boolean isControllable() {
        return true;
    }

    /** The server's log file, useful to attach to a failing test's report. */
    public synchronized Path logFile() {
        return directory == null ? null : directory.resolve("redis.log");
    }

    @Override
    public synchronized String toString() {
        return "LocalRedis[" + (port == 0 ? "not started" : uri()) + state() + "]";
    }

    private static final class Config {
        final boolean appendOnly;
        final boolean fsyncAlways;
        final String save;
        final String maxmemoryPolicy;
        final List<String> extraArgs;
        final int port;
        final Duration startupTimeout;
        final Path executable;

        Config(Builder b) {
            this.appendOnly = b.appendOnly;
            this.fsyncAlways = b.fsyncAlways;
            this.save = b.save;
            this.maxmemoryPolicy = b.maxmemoryPolicy;
            this.extraArgs = List.copyOf(b.extraArgs);
            this.port = b.port;
            this.startupTimeout = b.startupTimeout;
            this.executable = b.executable;
        }
    }

    /**
     * Collects options for a {@link LocalRedis}. Defaults favour fast tests: no AOF, no RDB snapshots, a free port,
     * Redis's own eviction default. Each {@link #build()} takes a snapshot, so a builder can be reused.
     */
    public static final class Builder {
        private boolean appendOnly;
        private boolean fsyncAlways;
        private String save = "";
        private String maxmemoryPolicy;
        private final List<String> extraArgs = new ArrayList<>();
        private int port;
        private Duration startupTimeout = Duration.ofSeconds(20);
        private Path executable;

        private Builder() {}

        /** Turns on the append-only file, so data survives {@link LocalRedis#kill()} + {@link LocalRedis#restart()}. */
        public Builder appendOnly(boolean appendOnly) {
            this.appendOnly = appendOnly;
            return this;
        }

        /** {@code appendfsync always} instead of {@code everysec}: every acknowledged write is on disk. */
        public Builder fsyncAlways(boolean fsyncAlways) {
            this.fsyncAlways = fsyncAlways;
            return this;
        }

        /** RDB save points as for {@code --save}, e.g. {@code "60 1"}; the default {@code ""} disables snapshots. */
        public Builder save(String savePoints) {
            this.save = Objects.requireNonNull(savePoints, "savePoints");
            return this;
        }

        /** {@code maxmemory-policy}, e.g. {@code noeviction} as Sidekiq requires; unset keeps Redis's default. */
        public Builder maxmemoryPolicy(String policy) {
            this.maxmemoryPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** More {@code redis-server} arguments, appended last so they win, e.g. {@code "--maxmemory", "64mb"}. */
        public Builder extraArgs(String... args) {
            this.extraArgs.addAll(Arrays.asList(args));
            return this;
        }

        /** A fixed port instead of a free one (0, the default, means pick a free one). */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** How long to wait for {@code +PONG}, which includes loading the AOF after a restart. Default 20 s. */
        public Builder startupTimeout(Duration timeout) {
            this.startupTimeout = Objects.requireNonNull(timeout, "timeout");
            return this;
        }

        /** A specific {@code redis-server} binary instead of the one on PATH. */
        public Builder executable(Path redisServer) {
            this.executable = Objects.requireNonNull(redisServer, "redisServer");
            return this;
        }

        /** An unstarted server with a snapshot of this configuration; call {@link LocalRedis#start()}. */
        public LocalRedis build() {
            return new LocalRedis(new Config(this));
        }
    }
}
