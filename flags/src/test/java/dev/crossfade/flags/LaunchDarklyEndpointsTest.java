package dev.crossfade.flags;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import org.junit.jupiter.api.Test;

class LaunchDarklyEndpointsTest {
    private static final URI RELAY = URI.create("http://relay:8030");
    private static final URI EVENTS = URI.create("http://events:9000");

    @Test
    void nothingSetIsLaunchDarklysOwn() {
        assertEquals(LaunchDarklyEndpoints.defaults(), LaunchDarklyEndpoints.of(null, null, null, null));
    }

    @Test
    void aRelayServesAllThreeUnlessOneIsSetOnItsOwn() {
        assertEquals(
                new LaunchDarklyEndpoints(RELAY, RELAY, EVENTS), LaunchDarklyEndpoints.of(RELAY, null, null, EVENTS));
        assertEquals(
                new LaunchDarklyEndpoints(
                        LaunchDarklyEndpoints.DEFAULT_STREAMING, LaunchDarklyEndpoints.DEFAULT_POLLING, EVENTS),
                LaunchDarklyEndpoints.of(null, null, null, EVENTS));
    }
}
