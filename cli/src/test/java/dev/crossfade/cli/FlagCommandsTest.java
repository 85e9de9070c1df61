package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.api.Backend;
import dev.crossfade.api.Job;
import dev.crossfade.flags.FlagSource;
import dev.crossfade.flags.FlagsConfig;
import dev.crossfade.flags.RoutingFlags;
import dev.crossfade.flags.file.FlagsFile;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlagCommandsTest {
    @TempDir
    Path dir;

    private Path config(String extra) throws IOException {
        Path c = dir.resolve("c.yml");
        Files.writeString(c, "flags:\n  file: " + dir.resolve("flags.json") + "\n" + extra);
        return c;
    }

    @Test
    void rolloutShadowAndKillSwitchEditTheFlagsFile() throws IOException {
        Path c = config("");
        CliTestSupport.Result r = CliTestSupport.run("rollout", "25", "-c", c.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("kafka: 25%"), r.out());
        assertEquals(0, CliTestSupport.run("shadow", "10%", "-c", c.toString()).exit());
        assertEquals(
                0, CliTestSupport.run("kill-switch", "on", "-c", c.toString()).exit());
        assertEquals(
                new FlagsFile.Settings(25, true, 10),
                FlagsFile.at(dir.resolve("flags.json")).read());
    }

    /** With custom flag keys, the commands edit the flags the router reads: rollout 30 sends 30% of jobs to Kafka. */
    @Test
    void customFlagKeysAreTheOnesEditedAndRoutedOn() throws IOException {
        Path c = config(
                "  route-flag: billing-route\n  kill-switch-flag: billing-kill\n  shadow-flag: billing-shadow\n");
        assertEquals(0, CliTestSupport.run("rollout", "30", "-c", c.toString()).exit());
        assertEquals(0, CliTestSupport.run("shadow", "5", "-c", c.toString()).exit());
        String json = Files.readString(dir.resolve("flags.json"));
        assertTrue(
                json.contains("billing-route")
                        && json.contains("billing-kill")
                        && json.contains("billing-shadow")
                        && !json.contains("crossfade-route"),
                json);
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.file(dir.resolve("flags.json")))
                .routeFlag("billing-route")
                .killSwitchFlag("billing-kill")
                .shadowFlag("billing-shadow")
                .meterRegistry(new SimpleMeterRegistry())
                .build())) {
            int kafka = 0;
            for (int i = 0; i < 10_000; i++) {
                if (flags.decide(Job.of("W", i)).primary() == Backend.KAFKA) {
                    kafka++;
                }
            }
            assertTrue(kafka >= 2_800 && kafka <= 3_200, kafka + " of 10,000 to Kafka at 30%");
        }
    }

    @Test
    void badInputGetsOneLineAndANonZeroExit() throws IOException {
        Path c = config("");
        CliTestSupport.Result r = CliTestSupport.run("rollout", "150", "-c", c.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("0 to 100"), r.err());
        r = CliTestSupport.run("kill-switch", "maybe", "-c", c.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("'on' or 'off'"), r.err());
        r = CliTestSupport.run(
                "rollout", "10", "-c", config("kafka:\n  mode: nope\n").toString());
        assertEquals(2, r.exit());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }

    @Test
    void withLaunchDarklyTheCommandSaysWhereToChangeTheFlag() throws IOException {
        Path c = config("  sdk-key: sdk-abc\n");
        CliTestSupport.Result r = CliTestSupport.run("rollout", "10", "-c", c.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("LaunchDarkly dashboard") && r.err().contains("crossfade-route"), r.err());
    }
}
