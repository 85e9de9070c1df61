package dev.crossfade.cli.http;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Prometheus text, scraped every second on a thread of its own, so {@code /metrics} answers at once even if a
 * meter blocks. A scrape older than {@link #STALE_AFTER} means that thread is stuck.
 */
final class ScrapeCache implements AutoCloseable {
    static final Duration STALE_AFTER = Duration.ofSeconds(10);
    private static final Logger log = LoggerFactory.getLogger(ScrapeCache.class);

    /** One scrape and when it was taken ({@link System#nanoTime()}). */
    record Scrape(String text, long at) {
        long ageMs() {
            return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - at);
        }
    }

    private final Supplier<String> scrape;
    private final ScheduledExecutorService scraper;
    private volatile Scrape last;
    private boolean failing;

    ScrapeCache(Supplier<String> scrape) {
        this.scrape = scrape;
        this.scraper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "crossfade-metrics");
            t.setDaemon(true);
            return t;
        });
        scraper.scheduleWithFixedDelay(this::refresh, 0, 1, TimeUnit.SECONDS);
    }

    private void refresh() {
        try {
            last = new Scrape(scrape.get(), System.nanoTime());
            failing = false;
        } catch (RuntimeException e) {
            if (!failing) {
                log.warn("metrics scrape failed (said once until it works again): {}", e.toString());
            }
            failing = true;
        }
    }

    /** The latest scrape, or null before the first. */
    Scrape last() {
        return last;
    }

    @Override
    public void close() {
        scraper.shutdownNow();
    }
}
