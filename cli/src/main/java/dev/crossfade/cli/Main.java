package dev.crossfade.cli;

import dev.crossfade.cli.command.ConfigCommand;
import dev.crossfade.cli.command.DeadCommand;
import dev.crossfade.cli.command.EnqueueCommand;
import dev.crossfade.cli.command.FlagCommands;
import dev.crossfade.cli.command.RampCommand;
import dev.crossfade.cli.command.ShadowReportCommand;
import dev.crossfade.cli.command.StatusCommand;
import dev.crossfade.cli.command.TransferCommand;
import dev.crossfade.cli.command.WorkCommand;
import dev.crossfade.config.ConfigException;
import dev.crossfade.config.Redaction;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code crossfade} command. Subcommands share {@link Options} (the config file); errors the user can fix (bad
 * configuration, an unreachable server, a garbage flags file) print one line and exit non-zero, never a stack trace.
 * Everything it prints, log lines included, passes through {@link Redaction}. The demo and the fault drill, which
 * start servers of their own, are added by crossfade-tools ({@code dev.crossfade.tools.Tools}), so this module's
 * classpath holds no broker.
 */
@Command(
        name = "crossfade",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "Move background jobs from Redis (Sidekiq) to Kafka behind LaunchDarkly flags, and back.",
        subcommands = {
            WorkCommand.class,
            EnqueueCommand.class,
            StatusCommand.class,
            FlagCommands.Rollout.class,
            FlagCommands.KillSwitch.class,
            FlagCommands.Shadow.class,
            RampCommand.class,
            DeadCommand.class,
            ShadowReportCommand.class,
            TransferCommand.class,
            ConfigCommand.class
        })
public final class Main implements Runnable {
    /** Exit code for configuration errors. */
    public static final int CONFIG_ERROR = 2;
    /** Exit code for an unreachable server or another runtime failure the user must fix. */
    public static final int RUNTIME_ERROR = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        launch(List.of(), args);
    }

    /**
     * Runs a command line on the standard streams, with {@code extraCommands} added to the subcommands, and exits with
     * its code.
     */
    public static void launch(List<Object> extraCommands, String[] args) {
        // Log lines go to System.err (slf4j-simple looks it up for every line), so this masks them too.
        System.setOut(Redaction.stream(System.out));
        System.setErr(Redaction.stream(System.err));
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), extraCommands, args));
    }

    /** Runs a command line on the standard streams and returns its exit code. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** Runs a command line on the given streams and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(out, err, List.of(), args);
    }

    /** The command line with every subcommand: this module's, then {@code extraCommands}, then {@code help}. */
    public static CommandLine commandLine(List<Object> extraCommands) {
        CommandLine cli = new CommandLine(new Main());
        extraCommands.forEach(cli::addSubcommand);
        // Added last so that it is listed last, after any extra command.
        return cli.addSubcommand(new CommandLine.HelpCommand());
    }

    /** Runs a command line on the given streams, with {@code extraCommands} added, and returns its exit code. */
    public static int run(PrintWriter out, PrintWriter err, List<Object> extraCommands, String... args) {
        CommandLine cli =
                commandLine(extraCommands).setOut(Redaction.writer(out)).setErr(Redaction.writer(err));
        // picocli prints the whole usage after a parameter error; one line naming the problem and the help is enough.
        cli.setParameterExceptionHandler((e, a) -> {
            CommandLine cmd = e.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName();
            cmd.getErr().println(name + ": " + oneLine(e) + " (see '" + name + " --help')");
            return CONFIG_ERROR;
        });
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable root = e;
            for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
                if (c instanceof ConfigException) {
                    cmd.getErr().println(c.getMessage());
                    return CONFIG_ERROR;
                }
                root = c;
            }
            String cause = root != e && !oneLine(e).contains(oneLine(root)) ? " (" + oneLine(root) + ")" : "";
            cmd.getErr().println("crossfade " + cmd.getCommandName() + ": " + oneLine(e) + cause);
            return RUNTIME_ERROR;
        });
        return cli.execute(args);
    }

    /**
     * Lowers a logger to WARN unless the user set its level: for commands with a live display that hundreds of INFO
     * lines would bury. Must run before the logger's class loads (slf4j-simple reads the level then).
     */
    public static void quiet(String logger) {
        String key = "org.slf4j.simpleLogger.log." + logger;
        System.setProperty(key, System.getProperty(key, "warn"));
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return Redaction.redact(m.lines().findFirst().orElse(m));
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"crossfade " + (v == null ? "development build" : v)};
        }
    }
}
