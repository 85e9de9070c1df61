package dev.crossfade.devservices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** The wire protocol the LaunchDarkly SDK speaks, checked by hand; the flags module drives it with the real SDK. */
class LocalLaunchDarklyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KILL = """
            {"on": false, "variations": [false, true], "offVariation": 0, "fallthrough": {"variation": 0}}""";

    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void streamsAPutThenEachChangeAndEndsWhenDropped() throws Exception {
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder()
                .flag("kill", KILL)
                .heartbeat(Duration.ofMillis(200))
                .build()
                .start()) {
            HttpResponse<InputStream> r =
                    http.send(get(ld, "/all", ld.sdkKey()), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                JsonNode put = next(in, "put");
                assertEquals("/", put.path("path").asText());
                assertEquals(
                        1,
                        put.path("data")
                                .path("flags")
                                .path("kill")
                                .path("version")
                                .asInt());
                assertTrue(put.path("data").path("segments").isObject());

                ld.setFlag("kill", KILL.replace("\"on\": false", "\"on\": true"));
                JsonNode patch = next(in, "patch");
                assertEquals("/flags/kill", patch.path("path").asText());
                assertEquals(2, patch.path("data").path("version").asInt(), "versions only rise");
                assertTrue(patch.path("data").path("on").asBoolean());

                ld.deleteFlag("kill");
                JsonNode delete = next(in, "delete");
                assertEquals("/flags/kill", delete.path("path").asText());
                assertEquals(3, delete.path("version").asInt());

                assertEquals(1, ld.openStreams());
                ld.dropStreams();
                String line;
                while ((line = in.readLine()) != null) {
                    assertTrue(line.isEmpty() || line.startsWith(":"), "only heartbeats after the delete: " + line);
                }
            }
            assertEquals(1, ld.streamsOpened());
        }
    }

    @Test
    void pollsEveryFlagAndRefusesAWrongKey() throws Exception {
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder()
                .sdkKey("sdk-right")
                .flag("kill", KILL)
                .build()
                .start()) {
            HttpResponse<String> ok =
                    http.send(get(ld, "/sdk/latest-all", "sdk-right"), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, ok.statusCode());
            assertFalse(JSON.readTree(ok.body())
                    .path("flags")
                    .path("kill")
                    .path("on")
                    .asBoolean(true));

            assertEquals(
                    401,
                    http.send(get(ld, "/sdk/latest-all", "sdk-wrong"), HttpResponse.BodyHandlers.ofString())
                            .statusCode());
            assertEquals(
                    401,
                    http.send(get(ld, "/all", "sdk-wrong"), HttpResponse.BodyHandlers.ofString())
                            .statusCode());
            assertEquals(2, ld.unauthorizedRequests());
            assertEquals(0, ld.streamsOpened());
        }
    }

    @Test
    void recordsPostedEventsPlainAndGzipped() throws Exception {
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder().build().start()) {
            recordsEvents(ld);
        }
    }

    private void recordsEvents(LocalLaunchDarkly ld) throws Exception {
        assertEquals(LocalLaunchDarkly.DEFAULT_SDK_KEY, ld.sdkKey());
        assertEquals(202, post(ld, "/bulk", "[{\"kind\": \"index\"}, {\"kind\": \"summary\"}]", false));
        assertEquals(202, post(ld, "/bulk", "[{\"kind\": \"custom\"}]", true));
        assertEquals(202, post(ld, "/diagnostic", "{\"kind\": \"diagnostic-init\"}", false));
        List<JsonNode> events = ld.awaitEvents(Duration.ofSeconds(1), e -> e.size() == 3);
        assertEquals(
                List.of("index", "summary", "custom"),
                events.stream().map(e -> e.path("kind").asText()).toList());
        assertEquals("diagnostic-init", ld.diagnostics().get(0).path("kind").asText());
        assertThrows(AssertionError.class, () -> ld.awaitEvents(Duration.ofMillis(50), e -> e.size() > 3));
        ld.clearEvents();
        assertTrue(ld.events().isEmpty());
    }

    @Test
    void pauseRefusesConnectionsAndResumeListensOnTheSamePort() throws Exception {
        try (LocalLaunchDarkly ld = LocalLaunchDarkly.builder().build().start()) {
            URI before = ld.uri();
            ld.pause();
            assertTrue(ld.isPaused());
            assertThrows(
                    ConnectException.class,
                    () -> http.send(get(ld, "/sdk/latest-all", ld.sdkKey()), HttpResponse.BodyHandlers.ofString()));
            ld.resume();
            assertEquals(before, ld.uri());
            assertEquals(
                    200,
                    http.send(get(ld, "/sdk/latest-all", ld.sdkKey()), HttpResponse.BodyHandlers.ofString())
                            .statusCode());
        }
    }

    private static HttpRequest get(LocalLaunchDarkly ld, String path, String key) {
        return HttpRequest.newBuilder(ld.uri().resolve(path))
                .header("Authorization", key)
                .timeout(Duration.ofSeconds(5))
                .build();
    }

    private int post(LocalLaunchDarkly ld, String path, String body, boolean gzip) throws Exception {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        HttpRequest.Builder b = HttpRequest.newBuilder(ld.uri().resolve(path))
                .header("Authorization", ld.sdkKey())
                .header("Content-Type", "application/json")
                .header("X-LaunchDarkly-Event-Schema", "4");
        if (gzip) {
            ByteArrayOutputStream zipped = new ByteArrayOutputStream();
            try (GZIPOutputStream z = new GZIPOutputStream(zipped)) {
                z.write(bytes);
            }
            bytes = zipped.toByteArray();
            b.header("Content-Encoding", "gzip");
        }
        return http.send(
                        b.POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(),
                        HttpResponse.BodyHandlers.discarding())
                .statusCode();
    }

    /** The data of the next event, which must be of type {@code event}; heartbeats are skipped. */
    private static JsonNode next(BufferedReader in, String event) throws IOException {
        String line;
        while ((line = in.readLine()) != null && (line.isEmpty() || line.startsWith(":"))) {
            // heartbeat or separator
        }
        assertEquals("event: " + event, line);
        String data = in.readLine();
        assertTrue(data.startsWith("data: "), data);
        assertEquals("", in.readLine());
        return JSON.readTree(data.substring("data: ".length()));
    }
}
