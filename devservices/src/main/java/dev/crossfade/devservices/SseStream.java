package dev.crossfade.devservices;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One open server-sent-events response of {@link LocalLaunchDarkly}. Only the exchange's own thread writes: others
 * queue messages, so events go out whole and in the order they were sent.
 */
final class SseStream {
    /** Queued by {@link #end()}: the writing thread closes the response when it reaches it. */
    private static final String[] END = new String[0];

    private final HttpExchange exchange;
    private final Duration heartbeat;
    private final BlockingQueue<String[]> queue = new LinkedBlockingQueue<>();

    SseStream(HttpExchange exchange, Duration heartbeat) {
        this.exchange = exchange;
        this.heartbeat = heartbeat;
    }

    /** Queues an event; a stream that has ended ignores it. */
    void send(String event, String data) {
        queue.add(new String[] {event, data});
    }

    /** Ends the response after what was queued before. */
    void end() {
        queue.add(END);
    }

    /** Writes {@code first}, then queued events and heartbeats until {@link #end()} or the client goes away. */
    void run(String event, String data) {
        try {
            exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-cache");
            exchange.sendResponseHeaders(200, 0);
            OutputStream out = exchange.getResponseBody();
            write(out, "event: " + event + "\ndata: " + data + "\n\n");
            while (true) {
                String[] next = queue.poll(heartbeat.toMillis(), TimeUnit.MILLISECONDS);
                if (next == END) {
                    break;
                }
                // A comment line: the SDK's read timeout restarts, and nothing else happens.
                write(out, next == null ? ":\n\n" : "event: " + next[0] + "\ndata: " + next[1] + "\n\n");
            }
        } catch (IOException e) {
            // The client went away; it reconnects on its own.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            exchange.close();
        }
    }

    private static void write(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }
}
