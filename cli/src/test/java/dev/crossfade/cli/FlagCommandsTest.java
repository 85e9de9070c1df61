package dev.crossfade.cli;

import dev.crossfade.flags.file.FlagsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
        assertEquals(0, CliTestSupport.run("kill-switch", "on", "-c", c.toString()).exit());
        assertEquals(new FlagsFile.Settings(25, true, 10), FlagsFile.at(dir.resolve("flags.json")).read());
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
        r = CliTestSupport.run("rollout", "10", "-c", config("kafka:\n  mode: nope\n").toString());
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
