package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Commands given every kind of secret (a Redis password, the LaunchDarkly SDK key, the dashboard token, a Relay
 * Proxy password) in the file and the environment, working, failing and refusing: none prints one. Each run is
 * scanned by {@link CliTestSupport}; this class makes sure the runs that could leak happen.
 */
@ExtendWith(CrossfadeServices.class)
class SecretsTest {
    @TempDir
    Path dir;

    private Path file(String text) throws IOException {
        return Files.writeString(dir.resolve("secret.yml"), text);
    }

    @Test
    void configShowMasksSecretsFromTheFileAndTheEnvironment() throws IOException {
        Path c = CliTestSupport.settings(dir)
                .set(
                        "redis.url",
                        "rediss://" + CliTestSupport.REDIS_USER + ":" + CliTestSupport.REDIS_PASSWORD
                                + "@redis.internal:6380/2")
                .set("flags.sdk-key", CliTestSupport.SDK_KEY)
                .set("flags.relay-uri", "https://relay:" + CliTestSupport.REDIS_PASSWORD + "@relay.internal:8030")
                .set("http.token", CliTestSupport.HTTP_TOKEN)
                .write("secret.yml");
        CliTestSupport.Result r = CliTestSupport.run(Map.of(), "config", "show", "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(
                r.out().contains("redis.url: rediss://" + CliTestSupport.REDIS_USER + ":****@redis.internal:6380/2"),
                r.out());
        assertTrue(r.out().contains("flags.sdk-key: ****"), r.out());
        assertTrue(r.out().contains("http.token: ****"), r.out());
        assertTrue(r.out().contains("flags.relay-uri: https://relay:****@relay.internal:8030"), r.out());

        r = CliTestSupport.run(
                Map.of(
                        "LD_SDK_KEY",
                        CliTestSupport.SDK_KEY,
                        "CROSSFADE_HTTP_TOKEN",
                        CliTestSupport.HTTP_TOKEN,
                        "CROSSFADE_REDIS_URL",
                        CliTestSupport.withPassword("redis://h:1/0")),
                "config",
                "show");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("flags.sdk-key: ****"), r.out());
    }

    @Test
    void badValuesNextToSecretsAreReportedWithoutThem() throws IOException {
        String pw = CliTestSupport.REDIS_PASSWORD;
        String[] bad = {
            "redis:\n  url: redis://u:" + pw + "@h:99999/0\n",
            "redis:\n  url: mongodb://u:" + pw + "@h/0\n",
            "redis:\n  url: \"redis://u:" + pw + "@h 6379\"\n",
            "redis:\n  url: redis://:" + pw + "@h/db\n",
            "flags:\n  relay-uri: ftp://u:" + pw + "@relay\n",
            "flags:\n  sdk-key: [" + CliTestSupport.SDK_KEY + ", two]\n",
            "http:\n  token:\n    nested: " + CliTestSupport.HTTP_TOKEN + "\n",
            "redis:\n  url: redis://:" + pw + "@h/0\n  oops: [unclosed\n",
        };
        for (String text : bad) {
            CliTestSupport.Result r =
                    CliTestSupport.run(Map.of(), "status", "-c", file(text).toString());
            assertEquals(2, r.exit(), text + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        CliTestSupport.Result r =
                CliTestSupport.run(Map.of("CROSSFADE_REDIS_URL", "redis://u:" + pw + "@h:0:1/0"), "status");
        assertEquals(2, r.exit(), r.err());
    }

    @Test
    void failuresAndRefusalsNameServersWithoutPasswords(RedisService redis, KafkaService kafka, TestNamespace ns)
            throws IOException {
        Path c = CliTestSupport.settings(dir, CliTestSupport.withPassword("redis://127.0.0.1:1/0"), kafka, ns)
                .set("http.token", CliTestSupport.HTTP_TOKEN)
                .write();
        CliTestSupport.Result r = CliTestSupport.run("status", "--backends", "redis", "-c", c.toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(
                r.err().contains("redis unreachable at redis://" + CliTestSupport.REDIS_USER + ":****@127.0.0.1:1"),
                r.err());
        r = CliTestSupport.run("dead", "list", "--backend", "redis", "-c", c.toString());
        assertEquals(1, r.exit(), r.err());
        r = CliTestSupport.run("enqueue", "crossfade.Echo", "--backend", "redis", "-c", c.toString());
        assertEquals(1, r.exit(), r.err());
        r = CliTestSupport.run(
                "shadow-report", "--url", "http://admin:" + CliTestSupport.REDIS_PASSWORD + "@127.0.0.1:1");
        assertEquals(1, r.exit(), r.err());

        // LaunchDarkly through a Relay Proxy that is not there: the key is used, never shown.
        Path ld = CliTestSupport.settings(dir, CliTestSupport.securedUrl(redis), kafka, ns)
                .set("flags.sdk-key", CliTestSupport.SDK_KEY)
                .set("flags.relay-uri", "http://relay:" + CliTestSupport.REDIS_PASSWORD + "@127.0.0.1:1")
                .write();
        r = CliTestSupport.run("status", "--backends", "redis", "-c", ld.toString());
        assertTrue(r.out().contains("LaunchDarkly via Relay Proxy http://relay:****@127.0.0.1:1"), r.out() + r.err());
        r = CliTestSupport.run("rollout", "10", "-c", ld.toString());
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().contains("LaunchDarkly dashboard"), r.err());
    }
}
