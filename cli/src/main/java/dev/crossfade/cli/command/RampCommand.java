package dev.crossfade.cli.command;

import dev.crossfade.api.Backend;
import dev.crossfade.cli.Options;
import dev.crossfade.cli.ramp.Ramp;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.CrossfadeConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.PrintWriter;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade ramp}: the guarded rollout, driven in the foreground until it is done or rolls back. Stopping it
 * (Ctrl-C) leaves the ramp at its step; running it again resumes there.
 */
@Command(
        name = "ramp",
        mixinStandardHelpOptions = true,
        description = {
            "Roll Kafka out in steps (ramp.steps, each held ramp.hold) while the guardrails hold: Kafka's failure "
                    + "rate against Redis's for the same queues and classes (a sequential test), enqueue-to-start p99, "
                    + "Kafka lag, fallbacks and shadow mismatches (ramp.* settings). On a breach, everything goes back "
                    + "to Redis at once and the decision log (`crossfade status`) says why.",
            "Runs until the last step passes (exit 0) or a guardrail rolls it back (exit 3); stopped, it resumes "
                    + "where it was when run again. One driver per migration (a lease in Redis).",
            "--clear ends a rollback's hold: the kill switch goes off and the route flag stays at 0%%."
        })
public final class RampCommand implements Callable<Integer> {
    /** Exit code of a ramp that rolled back. */
    public static final int ROLLED_BACK = 3;

    @Mixin
    Options options;

    @Option(names = "--clear", description = "clear a rollback: routers follow the flags again (at 0%% Kafka)")
    boolean clear;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        CrossfadeConfig config = options.load();
        PrintWriter out = spec.commandLine().getOut();
        try (Node node = Node.start(config, new SimpleMeterRegistry(), Set.of(Backend.REDIS, Backend.KAFKA))) {
            if (clear) {
                Ramp.clear(node);
                out.println("ramp: hold cleared; kill switch off, Kafka at 0% (start again with `crossfade ramp`)");
                return 0;
            }
            Ramp ramp = Ramp.of(node);
            Thread main = Thread.currentThread();
            Thread hook = new Thread(
                    () -> {
                        ramp.stop();
                        try {
                            main.join(2_000);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    },
                    "crossfade-ramp-stop");
            Runtime.getRuntime().addShutdownHook(hook);
            Ramp.End end;
            try {
                end = ramp.drive();
            } catch (Ramp.Refused e) {
                throw new CommandLine.ExecutionException(spec.commandLine(), e.getMessage());
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is running: it waits for us
                }
            }
            out.println("ramp: "
                    + switch (end) {
                        case DONE -> "done: every step held";
                        case ROLLED_BACK ->
                            "ROLLED BACK to Redis: " + node.rampStore().holdReason()
                                    + " (see `crossfade status`; `crossfade ramp --clear` to clear)";
                        case STOPPED -> "stopped; run `crossfade ramp` again to resume";
                    });
            out.flush();
            return end == Ramp.End.ROLLED_BACK ? ROLLED_BACK : 0;
        }
    }
}
