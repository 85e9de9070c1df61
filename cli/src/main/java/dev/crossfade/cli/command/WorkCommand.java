package dev.crossfade.cli.command;

import dev.crossfade.api.Backend;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.http.HttpEndpoints;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.cli.runtime.NodeStatus;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Redaction;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code crossfade work}: a worker process on Redis, Kafka or both, with /metrics, /health and the dashboard. Runs
 * until SIGTERM or SIGINT, then shuts down gracefully (running jobs finish or go back to their queue).
 */
@Command(
        name = "work",
        mixinStandardHelpOptions = true,
        description = {
            "Run workers for the configured queues on Redis, Kafka or both, with /metrics, /health and the "
                    + "dashboard on http.bind:http.port.",
            "Workers come from --jar files (found through ServiceLoader: META-INF/services/"
                    + "dev.crossfade.api.worker.WorkerProvider) plus the built-in crossfade.Echo and "
                    + "crossfade.Ledger. Stop with Ctrl-C or SIGTERM: running jobs finish or return to their "
                    + "queue."
        })
public final class WorkCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(WorkCommand.class);

    @Mixin
    Options options;

    @Option(names = "--queues", split = ",", paramLabel = "Q", description = "queues to work (default: workers.queues)")
    List<String> queues;

    @Option(
            names = "--backends",
            split = ",",
            paramLabel = "B",
            description = "redis, kafka or both (default: workers.backends)")
    List<String> backends;

    @Option(
            names = "--concurrency",
            paramLabel = "N",
            description = "threads per backend (default: " + "workers.concurrency)")
    Integer concurrency;

    @Option(names = "--jar", paramLabel = "JAR", description = "a jar with workers (repeatable; adds to workers.jars)")
    List<Path> jars = new ArrayList<>();

    @Option(names = "--http-port", paramLabel = "PORT", description = "override http.port (0: no HTTP)")
    Integer httpPort;

    @Override
    public Integer call() throws Exception {
        CrossfadeConfig config = options.load();
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ClassLoader loader = loader(config);
        Set<Backend> bs = backends == null
                ? parse(config.list("workers.backends"), "workers.backends")
                : parse(backends, "--backends");
        if (concurrency != null && concurrency < 1) {
            throw new ConfigException("--concurrency", "must be at least 1, got " + concurrency);
        }
        if (httpPort != null && (httpPort < 0 || httpPort > 65535)) {
            throw new ConfigException("--http-port", "must be 0..65535, got " + httpPort);
        }
        // Only the backends asked for: a Redis-only worker creates no Kafka client at all.
        try (Node node = Node.start(config, meters, bs)) {
            if (!bs.contains(Backend.REDIS)) {
                // Redis still holds the run-once guard; the Redis runtime checks its settings itself when it runs.
                checkRedis(node);
            }
            Set<String> qs = queues == null ? node.configuredQueues() : checkQueues(queues);
            int n = concurrency == null ? config.integer("workers.concurrency") : concurrency;
            WorkerRuntime workers = node.workers(loader, null, null, qs, bs, n);
            node.monitor();
            int port = httpPort == null ? config.integer("http.port") : httpPort;
            HttpEndpoints http = port == 0 ? null : http(config, port, meters, node);
            CountDownLatch stopped = new CountDownLatch(1);
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(
                            () -> {
                                log.info(
                                        "stopping: waiting up to {} for running jobs",
                                        config.duration("workers.shutdown-timeout"));
                                boolean clean = workers.stop(config.duration("workers.shutdown-timeout"));
                                log.info(
                                        clean
                                                ? "stopped cleanly"
                                                : "stopped; unfinished jobs went back to their queues");
                                if (http != null) {
                                    http.close();
                                }
                                stopped.countDown();
                            },
                            "crossfade-shutdown"));
            workers.start();
            log.info("working queues {} on {} with {} threads per backend", qs, bs, n);
            stopped.await();
        }
        return 0;
    }

    private static Set<Backend> parse(List<String> names, String key) {
        Set<Backend> out = new LinkedHashSet<>();
        for (String b : names) {
            if (!b.trim().equals("redis") && !b.trim().equals("kafka")) {
                throw new ConfigException(key, "must be redis and/or kafka, got '" + b + "'");
            }
            out.add(Backend.parse(b));
        }
        if (out.isEmpty()) {
            throw new ConfigException(key, "must name redis, kafka or both");
        }
        return out;
    }

    private static Set<String> checkQueues(List<String> names) {
        Set<String> out = new LinkedHashSet<>();
        for (String q : names) {
            if (!CrossfadeConfig.isQueueName(q)) {
                throw new ConfigException("--queues", CrossfadeConfig.QUEUE_RULE + ", got '" + q + "'");
            }
            out.add(q);
        }
        return out;
    }

    private static void checkRedis(Node node) {
        try {
            node.redis().checkServer().forEach(w -> log.warn("{}", w));
        } catch (RuntimeException e) {
            log.warn(
                    "cannot check the Redis server's settings now: {}",
                    Redaction.redact(String.valueOf(e.getMessage())));
        }
    }

    private static HttpEndpoints http(CrossfadeConfig config, int port, PrometheusMeterRegistry meters, Node node) {
        String bind = config.string("http.bind");
        try {
            return new HttpEndpoints(bind, port, meters, new NodeStatus(node), config.string("http.token"));
        } catch (java.io.IOException | RuntimeException e) {
            throw new ConfigException(
                    "http.port",
                    "cannot listen on " + bind + ":" + port + " (" + e.getMessage()
                            + "); pick a free port or address (http.bind, http.port or --http-port)");
        }
    }

    private ClassLoader loader(CrossfadeConfig config) throws MalformedURLException {
        List<URL> urls = new ArrayList<>();
        List<Path> all = new ArrayList<>(jars);
        config.list("workers.jars").forEach(j -> all.add(Path.of(j)));
        for (Path jar : all) {
            if (!Files.isRegularFile(jar)) {
                throw new ConfigException("workers.jars", "jar " + jar + " does not exist");
            }
            urls.add(jar.toUri().toURL());
        }
        return urls.isEmpty()
                ? WorkCommand.class.getClassLoader()
                : new URLClassLoader(urls.toArray(URL[]::new), WorkCommand.class.getClassLoader());
    }
}
