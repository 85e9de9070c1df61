package dev.crossfade.flags;

import dev.crossfade.api.Job;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * A router's flags in a JVM of its own, for {@link KillSwitchAcrossJvmsTest}: streams flags from the LaunchDarkly
 * service at {@code args[0]} with SDK key {@code args[1]}, decides a job every 200 µs, and prints {@code ready} once
 * its flags are in, then {@code KILL_SWITCH} or {@code ROUTE_FLAG} each time the decision's reason changes. Exits when
 * its standard input closes.
 */
public final class KillSwitchWatcher {
    private KillSwitchWatcher() {}

    public static void main(String[] args) throws Exception {
        Thread exit = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // until the parent closes our input (or dies)
                }
            } catch (java.io.IOException ignored) {
                // the parent is gone
            }
            System.exit(0);
        });
        exit.setDaemon(true);
        exit.start();
        try (RoutingFlags flags = RoutingFlags.start(FlagsConfig.custom()
                .source(FlagSource.launchDarkly(args[1], LaunchDarklyEndpoints.relayProxy(URI.create(args[0]))))
                .startWait(Duration.ofSeconds(20))
                .build())) {
            Job job = Job.builder("HardWorker").routingKey("watcher").build();
            RouteDecision.Reason last = flags.decide(job).reason();
            System.out.println("ready " + last);
            System.out.flush();
            while (true) {
                RouteDecision.Reason now = flags.decide(job).reason();
                if (now != last) {
                    System.out.println(now);
                    System.out.flush();
                    last = now;
                }
                LockSupport.parkNanos(200_000);
            }
        }
    }
}
