package dev.crossfade.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * Every command's help is complete (a description, and one for each option and parameter), and bad input on the
 * command line gets one line naming the problem and a non-zero exit, never a usage dump or a stack trace. Needs no
 * servers: each bad input is refused before anything connects.
 */
class HelpAndBadInputTest {
    @TempDir
    Path dir;

    @Test
    void everyCommandHasCompleteHelp() {
        CliTestSupport.Result top = CliTestSupport.run("--help");
        assertEquals(0, top.exit(), top.err());
        List<String> incomplete = new ArrayList<>();
        List<CommandSpec> all = new ArrayList<>();
        collect(Main.commandLine(List.of()).getCommandSpec(), all);
        assertTrue(all.size() >= 11, "commands found: " + all.size());
        for (CommandSpec spec : all) {
            String path = spec.qualifiedName(" ");
            if (spec.parent() != null && spec.parent().parent() == null) {
                assertTrue(top.out().contains(spec.name()), "crossfade --help lists " + spec.name());
            }
            if (spec.name().equals("help")) {
                continue;
            }
            String[] args = (path.substring(path.indexOf(' ') + 1) + " --help").split(" ");
            CliTestSupport.Result r = CliTestSupport.run(args);
            assertEquals(0, r.exit(), path + " --help: " + r.err());
            assertTrue(r.out().startsWith("Usage: " + path), path + " --help prints its usage:\n" + r.out());
            if (String.join("", spec.usageMessage().description()).isBlank()) {
                incomplete.add(path + ": no description");
            }
            for (OptionSpec o : spec.options()) {
                if (!o.usageHelp()
                        && !o.versionHelp()
                        && String.join("", o.description()).isBlank()) {
                    incomplete.add(path + " " + o.longestName() + ": no description");
                }
            }
            for (PositionalParamSpec p : spec.positionalParameters()) {
                if (String.join("", p.description()).isBlank()) {
                    incomplete.add(path + " " + p.paramLabel() + ": no description");
                }
            }
        }
        assertEquals(List.of(), incomplete);
    }

    @Test
    void helpPrintsNoWarning() {
        List<CommandSpec> all = new ArrayList<>();
        collect(Main.commandLine(List.of()).getCommandSpec(), all);
        List<String> warned = new ArrayList<>();
        for (CommandSpec spec : all) {
            String path = spec.qualifiedName(" ");
            String args = path.substring(path.indexOf(' ') + 1) + " --help";
            for (String[] a : new String[][] {args.split(" "), {"help", spec.name()}, {"--help"}}) {
                CliTestSupport.Result r = CliTestSupport.run(a);
                // picocli warns on System.err, not on the command's writer: the log is where it shows.
                if (!r.err().isEmpty() || r.log().contains("WARN")) {
                    warned.add(String.join(" ", a) + ": " + r.err() + r.log());
                }
            }
        }
        assertEquals(List.of(), warned);
    }

    private static void collect(CommandSpec spec, List<CommandSpec> into) {
        for (CommandLine sub : spec.subcommands().values()) {
            if (!into.contains(sub.getCommandSpec())) {
                into.add(sub.getCommandSpec());
                collect(sub.getCommandSpec(), into);
            }
        }
    }

    @Test
    void anUnknownOptionOrCommandIsOneLineAndExitTwo() {
        assertOneLine(CliTestSupport.run("status", "--frobnicate"), 2, "--frobnicate", "crossfade status --help");
        assertOneLine(CliTestSupport.run("frobnicate"), 2, "frobnicate", "crossfade --help");
        assertOneLine(CliTestSupport.run("transfer", "--from", "redis"), 2, "--to", "crossfade transfer --help");
    }

    @Test
    void badValuesAreOneLineNamingTheValue() throws IOException {
        Path c = dir.resolve("crossfade.yml");
        Files.writeString(c, "redis:\n  url: redis://127.0.0.1:1/0\n");
        assertOneLine(
                CliTestSupport.run("transfer", "--from", "redis", "--to", "redis", "--queue", "q", "-c", c.toString()),
                2,
                "--from/--to",
                "redis");
        assertOneLine(CliTestSupport.run("dead", "list", "--backend", "mongo", "-c", c.toString()), 2, "mongo");

        Files.writeString(c, "redis:\n  url: mongodb://127.0.0.1\n");
        CliTestSupport.Result r = CliTestSupport.run("status", "-c", c.toString());
        assertTrue(r.exit() != 0, "a bad Redis URL fails");
        assertOneLine(r, r.exit(), "mongodb://127.0.0.1");

        assertOneLine(
                CliTestSupport.run("status", "-c", dir.resolve("missing.yml").toString()), 2, "missing.yml");
    }

    private static void assertOneLine(CliTestSupport.Result r, int exit, String... mentions) {
        assertEquals(exit, r.exit(), r.err());
        assertEquals(1, r.err().strip().lines().count(), "one line:\n" + r.err());
        assertFalse(r.err().contains("\tat "), r.err());
        for (String m : mentions) {
            assertTrue(r.err().contains(m), "mentions " + m + ": " + r.err());
        }
    }
}
