package dev.crossfade.tools;

import dev.crossfade.cli.Main;
import dev.crossfade.tools.demo.DemoCommand;
import dev.crossfade.tools.drill.DrillCommand;
import java.io.PrintWriter;
import java.util.List;

/**
 * The {@code crossfade} command with the tools that start servers of their own: {@code demo} and {@code drill}. The
 * {@code ./crossfade} script runs this class for those two commands (and for the help that lists them), and
 * {@link Main} from crossfade-cli, whose classpath holds no broker, for every other command.
 */
public final class Tools {
    private Tools() {}

    public static void main(String[] args) {
        Main.launch(commands(), args);
    }

    /** Runs a command line on the given streams, the tools included, and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return Main.run(out, err, commands(), args);
    }

    /** New instances of the tool commands, for one command line. */
    public static List<Object> commands() {
        return List.of(new DemoCommand(), new DrillCommand());
    }
}
