package dev.crossfade.cli.command;

import dev.crossfade.cli.Options;
import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Setting;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code crossfade config keys|show}: every configuration key, and the values in effect. */
@Command(
        name = "config",
        mixinStandardHelpOptions = true,
        description = {
            "Show configuration keys (with environment variables and defaults) or the values in effect.",
            "  keys  every key, its environment variable, default and meaning (a Markdown table)",
            "  show  the values in effect after the file and environment are applied (secrets and URL passwords "
                    + "masked)"
        })
public final class ConfigCommand implements Runnable {
    @Mixin
    Options options;

    @Parameters(paramLabel = "keys|show", defaultValue = "keys", description = "what to print (default: keys)")
    String what;

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        PrintWriter out = spec.commandLine().getOut();
        if (what.equals("keys")) {
            out.println("| key | environment variable | default | meaning |");
            out.println("| --- | --- | --- | --- |");
            for (Setting s : Setting.ALL) {
                out.printf(
                        "| `%s` | `%s` | %s | %s |%n",
                        s.key(),
                        s.env(),
                        s.defaultValue() == null
                                ? "(unset)"
                                : s.defaultValue().isEmpty() ? "(empty)" : "`" + s.defaultValue() + "`",
                        s.description());
            }
        } else if (what.equals("show")) {
            CrossfadeConfig c = options.load();
            out.println("# from " + c.origin() + " and the environment");
            for (Setting s : Setting.ALL) {
                String v = c.shown(s.key());
                out.printf("%s: %s%n", s.key(), v == null ? "(unset)" : v);
            }
        } else {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(), "unknown config action '" + what + "': use 'keys' or 'show'");
        }
        out.flush();
    }
}
