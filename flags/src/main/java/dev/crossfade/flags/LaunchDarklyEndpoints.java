package dev.crossfade.flags;

import java.net.URI;
import java.util.Objects;

/**
 * Where the LaunchDarkly SDK connects: the streaming service (flag changes pushed as they happen), the polling service
 * (read only when streaming is turned off, and by a Relay Proxy) and the events service (evaluation counts and contexts,
 * which feed LaunchDarkly's flag insights). LaunchDarkly's own services unless changed; a Relay Proxy serves all three
 * at one URI.
 *
 * <table>
 *   <caption>CLI settings</caption>
 *   <tr><th>setting</th><th>endpoint</th></tr>
 *   <tr><td>{@code flags.relay-uri}</td><td>{@link #relayProxy(URI)}: all three</td></tr>
 *   <tr><td>{@code flags.stream-uri}</td><td>{@link #withStreaming(URI)}</td></tr>
 *   <tr><td>{@code flags.base-uri}</td><td>{@link #withPolling(URI)} (LaunchDarkly calls it the base URI)</td></tr>
 *   <tr><td>{@code flags.events-uri}</td><td>{@link #withEvents(URI)}</td></tr>
 * </table>
 *
 * @param streaming the streaming service's base URI; the SDK reads {@code /all} under it
 * @param polling   the polling service's base URI; the SDK reads {@code /sdk/latest-all} under it
 * @param events    the events service's base URI; the SDK posts to {@code /bulk} and {@code /diagnostic} under it
 */
public record LaunchDarklyEndpoints(URI streaming, URI polling, URI events) {
    public static final URI DEFAULT_STREAMING = URI.create("https://stream.launchdarkly.com");
    public static final URI DEFAULT_POLLING = URI.create("https://app.launchdarkly.com");
    public static final URI DEFAULT_EVENTS = URI.create("https://events.launchdarkly.com");

    private static final LaunchDarklyEndpoints DEFAULTS =
            new LaunchDarklyEndpoints(DEFAULT_STREAMING, DEFAULT_POLLING, DEFAULT_EVENTS);

    public LaunchDarklyEndpoints {
        Objects.requireNonNull(streaming, "streaming");
        Objects.requireNonNull(polling, "polling");
        Objects.requireNonNull(events, "events");
    }

    /** LaunchDarkly's own services. */
    public static LaunchDarklyEndpoints defaults() {
        return DEFAULTS;
    }

    /** A Relay Proxy, or anything else serving all three services, at {@code uri}. */
    public static LaunchDarklyEndpoints relayProxy(URI uri) {
        Objects.requireNonNull(uri, "uri");
        return new LaunchDarklyEndpoints(uri, uri, uri);
    }

    /**
     * The endpoints the four settings of the table above give, each null when not set: a Relay Proxy for all three
     * services (else LaunchDarkly's), each overridden by its own setting.
     */
    public static LaunchDarklyEndpoints of(URI relay, URI streaming, URI polling, URI events) {
        LaunchDarklyEndpoints at = relay != null ? relayProxy(relay) : DEFAULTS;
        if (streaming != null) {
            at = at.withStreaming(streaming);
        }
        if (polling != null) {
            at = at.withPolling(polling);
        }
        if (events != null) {
            at = at.withEvents(events);
        }
        return at;
    }

    public LaunchDarklyEndpoints withStreaming(URI uri) {
        return new LaunchDarklyEndpoints(uri, polling, events);
    }

    public LaunchDarklyEndpoints withPolling(URI uri) {
        return new LaunchDarklyEndpoints(streaming, uri, events);
    }

    public LaunchDarklyEndpoints withEvents(URI uri) {
        return new LaunchDarklyEndpoints(streaming, polling, uri);
    }

    /** Whether one URI serves all three and it is not LaunchDarkly's: a Relay Proxy. */
    boolean isRelayProxy() {
        return streaming.equals(polling) && polling.equals(events) && !equals(DEFAULTS);
    }

    /** For logs: "LaunchDarkly", or where it is reached instead. */
    String describe() {
        if (equals(DEFAULTS)) {
            return "LaunchDarkly";
        }
        if (isRelayProxy()) {
            return "LaunchDarkly via Relay Proxy " + streaming;
        }
        return "LaunchDarkly (streaming " + streaming + ", polling " + polling + ", events " + events + ")";
    }
}
