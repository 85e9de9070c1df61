package dev.crossfade.flags;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.launchdarkly.sdk.server.subsystems.ClientContext;
import com.launchdarkly.sdk.server.subsystems.HttpConfiguration;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts {@link DecisionCounts} to LaunchDarkly's events service as summary events, beside the SDK's own payloads: at
 * the SDK's flush interval, when the SDK is flushed, and on close. Requests are the SDK's: its endpoint
 * ({@code /bulk} under the events base URI), its headers (SDK key, user agent, tags, wrapper), its proxy and timeouts,
 * event schema 4 and a payload id. As the SDK does, a failed post is retried once after a second; what still fails is
 * counted again for the next post, and a refused key (401, 403) ends posting.
 */
final class SummaryPoster {
    private static final Logger log = LoggerFactory.getLogger(SummaryPoster.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration RETRY_DELAY = Duration.ofSeconds(1);

    private final DecisionCounts counts;
    private final URI bulk;
    private final HttpConfiguration http;
    private final HttpClient client;
    private final ScheduledExecutorService thread;
    private volatile boolean refused;

    SummaryPoster(DecisionCounts counts, ClientContext context, Duration flushInterval) {
        this.counts = counts;
        String base = context.getServiceEndpoints().getEventsBaseUri().toString();
        this.bulk = URI.create(base.replaceAll("/+$", "") + "/bulk");
        this.http = context.getHttp();
        HttpClient.Builder b = HttpClient.newBuilder();
        if (positive(http.getConnectTimeout())) {
            b.connectTimeout(http.getConnectTimeout());
        }
        if (http.getProxy() != null && http.getProxy().address() instanceof InetSocketAddress proxy) {
            b.proxy(ProxySelector.of(proxy));
        }
        this.client = b.build();
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-flag-counts");
            t.setDaemon(true);
            return t;
        });
        long ms = flushInterval.toMillis();
        thread.scheduleWithFixedDelay(this::post, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Posts what was counted so far, soon, on the poster's thread. */
    void flush() {
        thread.execute(this::post);
    }

    /** Posts what was counted, waiting up to {@code wait} for it, and stops. */
    void close(Duration wait) {
        thread.execute(this::post);
        thread.shutdown();
        try {
            if (!thread.awaitTermination(wait.toMillis(), TimeUnit.MILLISECONDS)) {
                thread.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            thread.shutdownNow();
        }
    }

    private void post() {
        if (refused) {
            return;
        }
        ObjectNode summary = counts.drain();
        if (summary == null) {
            return;
        }
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(JSON.createArrayNode().add(summary));
        } catch (IOException e) {
            log.warn("cannot write decision counts for LaunchDarkly: {}", e.toString());
            return;
        }
        String payloadId = UUID.randomUUID().toString();
        for (int attempt = 0; attempt < 2; attempt++) {
            if (attempt > 0 && !sleep(RETRY_DELAY)) {
                break;
            }
            int status = send(body, payloadId);
            if (status >= 200 && status < 300) {
                return;
            }
            if (status == 401 || status == 403) {
                refused = true;
                log.error(
                        "LaunchDarkly refused decision counts (HTTP {}): the SDK key is not valid; no more are sent",
                        status);
                return;
            }
            if (status >= 400 && status < 500 && status != 400 && status != 408 && status != 429) {
                break; // not worth a retry, as the SDK judges
            }
        }
        counts.restore(summary);
    }

    /** The response status, or -1 if there was none. */
    private int send(byte[] body, String payloadId) {
        HttpRequest.Builder r = HttpRequest.newBuilder(bulk).POST(HttpRequest.BodyPublishers.ofByteArray(body));
        if (positive(http.getSocketTimeout())) {
            r.timeout(http.getSocketTimeout());
        }
        for (Map.Entry<String, String> h : http.getDefaultHeaders()) {
            r.header(h.getKey(), h.getValue());
        }
        r.header("Content-Type", "application/json")
                .header("X-LaunchDarkly-Event-Schema", "4")
                .header("X-LaunchDarkly-Payload-ID", payloadId);
        try {
            return client.send(r.build(), HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (IOException e) {
            log.debug("posting decision counts to LaunchDarkly failed: {}", e.toString());
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static boolean positive(Duration d) {
        return d != null && !d.isNegative() && !d.isZero();
    }

    private static boolean sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
