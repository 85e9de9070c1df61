package dev.crossfade.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.DevServices;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code crossfade demo} and {@code crossfade drill} as the {@code ./crossfade} script runs them: listed in the help,
 * with complete help of their own, bad options refused in one line, and the demo losing nothing end to end on the
 * shared servers.
 */
@ExtendWith(CrossfadeServices.class)
class ToolsCommandsTest {
    /** What a run printed: its output, its error stream, and what went to System.err (picocli's warnings, logs). */
    private record Result(int exit, String out, String err, String log) {}

    private static synchronized Result run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        PrintStream realErr = System.err;
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = Tools.run(new PrintWriter(out, true), new PrintWriter(err, true), args);
        } finally {
            System.setErr(realErr);
        }
        realErr.print(log.toString(StandardCharsets.UTF_8));
        return new Result(exit, out.toString(), err.toString(), log.toString(StandardCharsets.UTF_8));
    }

    @Test
    void theHelpListsTheToolsAndTheirHelpIsCompleteWithoutWarnings() {
        Result top = run("--help");
        assertEquals(0, top.exit(), top.err());
        assertTrue(
                top.out().contains("demo")
                        && top.out().contains("drill")
                        && top.out().contains("work"),
                top.out());
        List<String> wrong = new ArrayList<>();
        for (Object command : Tools.commands()) {
            var spec = new picocli.CommandLine(command).getCommandSpec();
            for (String[] args : new String[][] {{spec.name(), "--help"}, {"help", spec.name()}}) {
                Result r = run(args);
                if (r.exit() != 0 || !r.out().startsWith("Usage: crossfade " + spec.name())) {
                    wrong.add(String.join(" ", args) + ": exit " + r.exit() + " " + r.out() + r.err());
                }
                if (!r.err().isEmpty() || r.log().contains("WARN")) {
                    wrong.add(String.join(" ", args) + " warned: " + r.err() + r.log());
                }
            }
            if (String.join("", spec.usageMessage().description()).isBlank()) {
                wrong.add(spec.name() + ": no description");
            }
            for (OptionSpec o : spec.options()) {
                if (!o.usageHelp()
                        && !o.versionHelp()
                        && String.join("", o.description()).isBlank()) {
                    wrong.add(spec.name() + " " + o.longestName() + ": no description");
                }
            }
        }
        assertEquals(List.of(), wrong);
    }

    @Test
    void aBadDrillOptionIsOneLineAndExitTwo() {
        Result r = run("drill", "--jobs", "many");
        assertEquals(2, r.exit(), r.out() + r.err());
        List<String> lines = r.err().strip().lines().toList();
        assertEquals(1, lines.size(), r.err());
        assertTrue(lines.get(0).contains("many") && lines.get(0).contains("crossfade drill --help"), r.err());
    }

    @Test
    void theDemoRunsEndToEndAndLosesNothing(RedisService redis, KafkaService kafka) {
        // Point the demo at the shared servers instead of starting its own: same code path, fewer seconds.
        System.setProperty(DevServices.REDIS_URL, redis.uri().toString());
        System.setProperty(DevServices.KAFKA_BOOTSTRAP, kafka.bootstrapServers());
        try {
            Result r = run("demo", "--phase-seconds", "2", "--rate", "200");
            assertEquals(0, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("lost: 0"), r.out());
            for (String phase : new String[] {
                "redis only",
                "10% kafka",
                "50% kafka",
                "100% kafka",
                "shadow 50% to redis",
                "kill switch: redis",
                "back to kafka"
            }) {
                assertTrue(r.out().contains(phase), "table has phase " + phase);
            }
            assertFalse(r.out().contains("\tat "), r.out());
        } finally {
            System.clearProperty(DevServices.REDIS_URL);
            System.clearProperty(DevServices.KAFKA_BOOTSTRAP);
        }
    }
}
