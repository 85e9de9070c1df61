package dev.crossfade.cli.command;

import dev.crossfade.cli.Options;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.flags.file.FlagsFile;
import java.io.PrintWriter;
import java.util.function.Consumer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * The commands that move traffic by editing the local flags file: {@code rollout}, {@code kill-switch},
 * {@code shadow}. When flags come from LaunchDarkly they change nothing and say where to make the change instead,
 * since the file would be ignored.
 */
public final class FlagCommands {
    private FlagCommands() {}

    /** Shared plumbing: the flags file, or the LaunchDarkly refusal. */
    abstract static class FlagCommand implements Runnable {
        @Mixin
        Options options;

        @Spec
        CommandSpec spec;

        FlagsFile file(CrossfadeConfig config, String change) {
            if (config.isSet("flags.sdk-key")) {
                throw new CommandLine.ExecutionException(
                        spec.commandLine(),
                        "flags come from LaunchDarkly, not a " + "local file: " + change
                                + " in the LaunchDarkly dashboard (flag '" + flagFor(config) + "')");
            }
            FlagsFile f = FlagsFile.at(
                    config.path("flags.file"),
                    config.string("flags.route-flag"),
                    config.string("flags.kill-switch-flag"),
                    config.string("flags.shadow-flag"));
            f.createIfMissing();
            return f;
        }

        /** The configuration key naming this command's flag, for the LaunchDarkly refusal. */
        abstract String flagKey();

        /** What the command changes, for the LaunchDarkly refusal ("change the shadow percentage"). */
        abstract String change();

        /** Checks the arguments and returns the edit to make; runs before the configuration is read. */
        abstract Consumer<FlagsFile> edit();

        @Override
        public final void run() {
            Consumer<FlagsFile> edit = edit();
            FlagsFile f = file(options.load(), change());
            edit.accept(f);
            print(f);
        }

        String flagFor(CrossfadeConfig config) {
            return config.string(flagKey());
        }

        void print(FlagsFile f) {
            PrintWriter out = spec.commandLine().getOut();
            FlagsFile.Settings s = f.read();
            out.printf(
                    "kafka: %s%%  shadow: %s%%  kill switch: %s  (%s)%n",
                    fmt(s.kafkaPercent()),
                    fmt(s.shadowPercent()),
                    s.killSwitch() ? "ON, everything to Redis" : "off",
                    f.path());
            out.flush();
        }

        static String fmt(double d) {
            return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
        }

        static double percent(CommandSpec spec, String value) {
            try {
                double p = Double.parseDouble(value.endsWith("%") ? value.substring(0, value.length() - 1) : value);
                if (p < 0 || p > 100 || Double.isNaN(p)) {
                    throw new NumberFormatException();
                }
                return p;
            } catch (NumberFormatException e) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "percent must be a number from 0 to 100, got '" + value + "'");
            }
        }
    }

    /** {@code crossfade rollout <percent>}. */
    @Command(
            name = "rollout",
            mixinStandardHelpOptions = true,
            description = "Send PERCENT of jobs to Kafka (the rest to Redis), by editing the local flags file. "
                    + "Sticky per routing key: raising it only moves keys toward Kafka. Workers pick it up within a "
                    + "second, without a restart.")
    public static final class Rollout extends FlagCommand {
        @Parameters(paramLabel = "PERCENT", description = "0 to 100")
        String percent;

        @Override
        String flagKey() {
            return "flags.route-flag";
        }

        @Override
        String change() {
            return "change the percentage rollout";
        }

        @Override
        Consumer<FlagsFile> edit() {
            double p = percent(spec, percent);
            return f -> f.setKafkaPercent(p);
        }
    }

    /** {@code crossfade kill-switch on|off}. */
    @Command(
            name = "kill-switch",
            mixinStandardHelpOptions = true,
            description =
                    "on: every enqueue goes to Redis at once and shadowing stops. off: the rollout applies again.")
    public static final class KillSwitch extends FlagCommand {
        @Parameters(
                paramLabel = "on|off",
                description = "on: every enqueue to Redis, no shadow copies; off: the rollout applies")
        String state;

        @Override
        String flagKey() {
            return "flags.kill-switch-flag";
        }

        @Override
        String change() {
            return "turn the kill switch " + state;
        }

        @Override
        Consumer<FlagsFile> edit() {
            boolean on = switch (state) {
                case "on" -> true;
                case "off" -> false;
                default ->
                    throw new CommandLine.ParameterException(
                            spec.commandLine(), "kill-switch takes 'on' or 'off', got '" + state + "'");
            };
            return f -> f.setKillSwitch(on);
        }
    }

    /** {@code crossfade shadow <percent>}. */
    @Command(
            name = "shadow",
            mixinStandardHelpOptions = true,
            description = "Give PERCENT of jobs a shadow copy on the other backend, for comparison "
                    + "(see `crossfade shadow-report`).")
    public static final class Shadow extends FlagCommand {
        @Parameters(paramLabel = "PERCENT", description = "0 to 100")
        String percent;

        @Override
        String flagKey() {
            return "flags.shadow-flag";
        }

        @Override
        String change() {
            return "change the shadow percentage";
        }

        @Override
        Consumer<FlagsFile> edit() {
            double p = percent(spec, percent);
            return f -> f.setShadowPercent(p);
        }
    }
}
