package dev.crossfade.cli;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.worker.WorkerOptions;
import dev.crossfade.api.worker.WorkerRegistry;
import dev.crossfade.cli.http.HttpEndpoints;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.cli.runtime.NodeStatus;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import dev.crossfade.flags.file.FlagsFile;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.File;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The running process as an operator sees it: a real {@link Node} (router, workers on both backends, shadow
 * comparison) against the shared test Redis and Kafka, its {@link HttpEndpoints} on a free port, and
 *
 * <ul>
 *   <li>the dashboard in headless Chromium (Debian's chromium and chromedriver; Selenium never downloads one):
 *   split, flag source, moving throughput, lag per partition, shadow and failure panels, and the kill switch with a
 *   wrong token (refused) and the right one (flags file and page change);</li>
 *   <li>{@code /health} and {@code /metrics};</li>
 *   <li>{@code docs/grafana-dashboard.json}: every metric it queries is one this process exposes.</li>
 * </ul>
 */
@ExtendWith(CrossfadeServices.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DashboardEndToEndTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    private static final String TOKEN = "s3cret-token";
    private static final String Q = "dash";
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path dir;
    private TestNamespace ns;
    private PrometheusMeterRegistry meters;
    private Node node;
    private WorkerRuntime workers;
    private HttpEndpoints http;
    private FlagsFile flags;
    private Thread producer;
    private final AtomicBoolean producing = new AtomicBoolean(true);
    private final AtomicInteger produced = new AtomicInteger();

    @BeforeAll
    void startNode(RedisService redis, KafkaService kafka, TestNamespace ns) throws Exception {
        this.ns = ns;
        dir = Files.createTempDirectory("crossfade-dashboard");
        Path config = CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .set("workers.queues", List.of(Q))
                .set("workers.concurrency", 2)
                .write();
        flags = FlagsFile.at(dir.resolve("flags.json"));
        flags.write(new FlagsFile.Settings(50, false, 20));
        meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        node = Node.start(CrossfadeConfig.load(config, Map.of()), meters);
        WorkerRegistry.Builder registry = WorkerRegistry.builder()
                .register(
                        "DashJob",
                        (args, ctx) -> ctx.result(args.get(0, Integer.class) * 2),
                        WorkerOptions.custom().shadowSafe(true).build())
                .register(
                        "DashFails",
                        (args, ctx) -> {
                            throw new IllegalStateException("fails on purpose");
                        },
                        WorkerOptions.custom().maxRetries(0).build())
                .register(
                        "DashRetries",
                        (args, ctx) -> {
                            throw new IllegalStateException("fails, then waits for its retry");
                        },
                        WorkerOptions.custom().maxRetries(5).build());
        workers = node.workers(
                getClass().getClassLoader(), registry, null, Set.of(Q), Set.of(Backend.REDIS, Backend.KAFKA), 2);
        workers.start();
        http = new HttpEndpoints("127.0.0.1", 0, meters, new NodeStatus(node), TOKEN);
        // One failing job per backend, so the failure panel, the dead set and the DLQ have something in them.
        node.redis().queue().enqueue(Job.builder("DashFails").queue(Q).retry(0).build());
        node.kafka().queue().enqueue(Job.builder("DashFails").queue(Q).retry(0).build());
        node.redis().queue().enqueue(Job.builder("DashRetries").queue(Q).build());
        // One fallback: the flags pick Kafka, whose topic names cannot hold this queue's name, so Redis takes it.
        for (int i = 0; ; i++) {
            Job j = Job.builder("DashJob")
                    .args(0)
                    .queue("no/kafka")
                    .routingKey("fallback-" + i)
                    .build();
            if (node.flags().decide(j).primary() == Backend.KAFKA) {
                node.router().enqueue(j);
                break;
            }
        }
        // A steady trickle through the router (bounded: at most 60 s of it), so throughput moves while we look.
        producer = new Thread(
                () -> {
                    long until = System.nanoTime() + Duration.ofSeconds(60).toNanos();
                    while (producing.get() && System.nanoTime() < until) {
                        for (int i = 0; i < 20; i++) {
                            int n = produced.incrementAndGet();
                            node.router()
                                    .enqueue(Job.builder("DashJob")
                                            .args(n)
                                            .queue(Q)
                                            .routingKey("acct-" + n)
                                            .build());
                        }
                        try {
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                },
                "dashboard-test-producer");
        producer.setDaemon(true);
        producer.start();
    }

    @AfterAll
    void stopNode() throws InterruptedException {
        producing.set(false);
        if (producer != null) {
            producer.join(5_000);
        }
        if (http != null) {
            http.close();
        }
        if (workers != null) {
            workers.stop(Duration.ofSeconds(10));
        }
        if (node != null) {
            node.close();
        }
    }

    @Test
    void theDashboardShowsTheProcessAndTheKillSwitchNeedsTheToken() throws Exception {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
            fail("headless Chromium is needed for the dashboard test: apt-get install chromium chromium-driver");
        }
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort()
                .build();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--user-data-dir=" + dir.resolve("chromium-profile"),
                "--window-size=1400,1000");
        WebDriver browser = new ChromeDriver(service, options);
        try {
            browser.manage().window().setSize(new Dimension(1400, 1000));
            browser.get("http://127.0.0.1:" + http.port() + "/");
            // The page re-renders tables on every poll: an element found a moment ago can be gone, so try again.
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
            wait.ignoring(StaleElementReferenceException.class);

            // Split and flag source.
            wait.until(b -> text(b, "source").contains("flags file"));
            assertTrue(
                    text(browser, "source")
                            .contains(dir.resolve("flags.json").toAbsolutePath().toString()),
                    text(browser, "source"));
            wait.until(b -> text(b, "kafkaPct").equals("50"));
            assertEquals("off", text(browser, "kill"));
            assertEquals("20", text(browser, "shadowPct"));
            assertEquals("healthy", text(browser, "flagsHealthy"));
            assertEquals("CLOSED", text(browser, "breaker"));

            // Throughput moves on both backends (the page computes it from the processed counts it polls).
            wait.until(b -> number(b, "tpRedis") > 0 && number(b, "tpKafka") > 0);
            // The lag table lists both partitions of the queue's topic.
            String topic = ns.value() + "." + Q;
            wait.until(b -> b.findElements(By.cssSelector("#lag tr")).stream()
                            .filter(r -> r.getText().startsWith(topic + " "))
                            .count()
                    == 2);
            // Failure and shadow panels render numbers from the process.
            wait.until(b -> number(b, "redisDead") >= 1 && number(b, "kafkaDlq") >= 1 && number(b, "failed") >= 2);
            wait.until(b -> number(b, "shMatched") > 0);
            assertEquals("no mismatches", text(browser, "shStatus"));
            assertTrue(browser.findElement(By.id("controls")).isDisplayed(), "token set: controls shown");
            screenshot(browser, "dashboard.png");

            // A wrong token is refused, and the page says so; the flags file is untouched.
            WebElement token = browser.findElement(By.id("token"));
            token.sendKeys("wrong-token");
            browser.findElement(By.id("killOn")).click();
            wait.until(b -> text(b, "controlMsg").startsWith("refused"));
            assertTrue(text(browser, "controlMsg").contains("wrong or missing token"), text(browser, "controlMsg"));
            assertFalse(flags.read().killSwitch(), "refused change must not reach the flags file");
            assertEquals("off", text(browser, "kill"));

            // The right token turns the kill switch on: the file changes and the page shows it.
            token.clear();
            token.sendKeys(TOKEN);
            browser.findElement(By.id("killOn")).click();
            wait.until(b -> text(b, "controlMsg").equals("applied"));
            assertTrue(flags.read().killSwitch(), "kill switch written to the flags file");
            wait.until(b -> text(b, "kill").equals("ON") && text(b, "kafkaPct").equals("0"));
            screenshot(browser, "dashboard-kill-switch.png");
            // And routing follows within a second or so: new jobs go to Redis only.
            await().atMost(Duration.ofSeconds(10)).until(() -> node.flags().kafkaShare(200) == 0.0);
        } finally {
            browser.quit();
            service.stop();
        }
    }

    @Test
    void healthAndMetricsAnswer() throws Exception {
        HttpClient client = HttpClient.newHttpClient();
        // Health comes from background checks: UP once each backend answered its first.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> get(client, "/health").statusCode() == 200);
        HttpResponse<String> health = get(client, "/health");
        assertEquals(200, health.statusCode(), health.body());
        assertEquals(200, get(client, "/health/live").statusCode());
        assertEquals(200, get(client, "/health/ready").statusCode());
        assertEquals(200, get(client, "/health/kafka").statusCode());
        JsonNode h = JSON.readTree(health.body());
        assertEquals("UP", h.path("status").asText(), health.body());
        assertEquals("UP", h.path("redis").asText());
        assertEquals("UP", h.path("kafka").asText());

        await().atMost(Duration.ofSeconds(30)).until(() -> metrics(client).contains("crossfade_jobs_processed_total{"));
        HttpResponse<String> m = client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/metrics"))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, m.statusCode());
        assertTrue(
                m.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"),
                m.headers().toString());
        assertTrue(m.body().contains("# TYPE crossfade_jobs_processed_total counter"), "Prometheus text format");
        assertTrue(m.body().contains("crossfade_router_enqueued_total"), "router meters");
    }

    /**
     * Every metric docs/grafana-dashboard.json queries must be one this process exposes (after some work, with the
     * Kafka lag monitor having run), so the dashboard cannot drift from the code.
     */
    @Test
    void theGrafanaDashboardQueriesOnlyMetricsTheProcessExposes() throws Exception {
        Path dashboard = Path.of("..", "docs", "grafana-dashboard.json");
        JsonNode root = JSON.readTree(dashboard.toFile());
        Set<String> queried = new TreeSet<>();
        Pattern name = Pattern.compile("\\b((?:crossfade|resilience4j)_[a-z0-9_]+)\\b");
        int queries = 0;
        for (JsonNode panel : root.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                Matcher mm = name.matcher(target.path("expr").asText());
                while (mm.find()) {
                    queried.add(mm.group(1));
                }
                queries++;
            }
        }
        assertTrue(root.path("panels").size() >= 9 && queries >= 9, "the dashboard has its panels and queries");
        // Wait until the slower meters exist: lag (the lag monitor's refresh), Redis queue sizes (the heartbeat's),
        // and the retry and dead counters.
        await().atMost(Duration.ofSeconds(30)).until(() -> {
            String s = meters.scrape();
            return s.contains("crossfade_kafka_partition_offset_lag")
                    && s.contains("crossfade_redis_jobs_retried_total")
                    && s.contains("crossfade_redis_jobs_dead_total")
                    && s.contains("crossfade_redis_queue_size");
        });
        Set<String> exposed = new TreeSet<>();
        for (String line : meters.scrape().split("\n")) {
            if (!line.startsWith("#") && !line.isBlank()) {
                exposed.add(line.split("[{ ]", 2)[0]);
            }
        }
        Set<String> unknown = new TreeSet<>(queried);
        unknown.removeAll(exposed);
        assertTrue(
                unknown.isEmpty(),
                "the Grafana dashboard queries metrics the process does not expose: " + unknown + "\nexposed: "
                        + exposed);
        assertTrue(queried.size() >= 10, "queries the main metrics: " + queried);
    }

    private HttpResponse<String> get(HttpClient client, String path) throws Exception {
        return client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + path))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private String metrics(HttpClient client) throws Exception {
        return client.send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + http.port() + "/metrics"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString())
                .body();
    }

    private static String text(WebDriver b, String id) {
        for (int attempt = 1; ; attempt++) {
            try {
                return b.findElement(By.id(id)).getText().strip();
            } catch (StaleElementReferenceException e) {
                // Re-rendered between find and read by the page's poll: read the new one.
                if (attempt == 3) {
                    throw e;
                }
            }
        }
    }

    private static double number(WebDriver b, String id) {
        try {
            return Double.parseDouble(text(b, id));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static void screenshot(WebDriver browser, String file) throws Exception {
        File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", file);
        Files.createDirectories(target.getParent());
        Files.copy(png.toPath(), target, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
