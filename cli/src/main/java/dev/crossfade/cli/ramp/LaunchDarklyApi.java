package dev.crossfade.cli.ramp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/**
 * The flag updates a guarded rollout makes through LaunchDarkly's REST API ({@code PATCH /api/v2/flags/<project>/<flag>}
 * with a JSON Patch of the environment's {@code on} and {@code fallthrough}): the route flag's percentage rollout and
 * the kill switch. Flags are expected in the layout the flags file uses: route flag variations {@code [redis, kafka]},
 * kill switch {@code [false, true]}, rollouts bucketed by the {@code job} context's key. The token is sent only in
 * {@code Authorization} and never appears in a message.
 */
final class LaunchDarklyApi {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FULL = 100_000;
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
    private final URI base;
    private final String token;
    private final String project;
    private final String environment;

    LaunchDarklyApi(URI base, String token, String project, String environment) {
        this.base = base;
        this.token = token;
        this.project = project;
        this.environment = environment;
    }

    /** Serves {@code percent}% of jobs {@code kafka}, the rest {@code redis}. */
    void setKafkaPercent(String routeFlag, double percent) throws IOException {
        int kafka = (int) Math.round(percent * FULL / 100.0);
        ObjectNode fallthrough = JSON.createObjectNode();
        if (kafka == 0 || kafka == FULL) {
            fallthrough.put("variation", kafka == 0 ? 0 : 1);
        } else {
            ObjectNode r = fallthrough.putObject("rollout");
            r.put("contextKind", "job");
            r.put("bucketBy", "key");
            ArrayNode w = r.putArray("variations");
            w.addObject().put("variation", 0).put("weight", FULL - kafka);
            w.addObject().put("variation", 1).put("weight", kafka);
        }
        patch(routeFlag, kafka != 0, fallthrough);
    }

    /** Turns the kill switch on (serving true to every job) or off. */
    void setKillSwitch(String killSwitchFlag, boolean on) throws IOException {
        patch(killSwitchFlag, on, JSON.createObjectNode().put("variation", on ? 1 : 0));
    }

    private void patch(String flag, boolean on, ObjectNode fallthrough) throws IOException {
        String env = "/environments/" + environment;
        ArrayNode ops = JSON.createArrayNode();
        ops.addObject().put("op", "replace").put("path", env + "/on").put("value", on);
        ops.addObject().put("op", "replace").put("path", env + "/fallthrough").set("value", fallthrough);
        URI uri = base.resolve("/api/v2/flags/" + project + "/" + flag);
        HttpRequest req = HttpRequest.newBuilder(uri)
                .timeout(TIMEOUT)
                .header("Authorization", token)
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(ops)))
                .build();
        HttpResponse<String> res;
        try {
            res = http.send(req, HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while updating flag '" + flag + "'", e);
        }
        if (res.statusCode() / 100 != 2) {
            String body = res.body() == null ? "" : res.body();
            throw new IOException("LaunchDarkly answered " + res.statusCode() + " to the update of flag '" + flag
                    + "' in " + project + "/" + environment + ": "
                    + body.substring(0, Math.min(200, body.length())).replace(token, "***"));
        }
    }
}
