package dev.crossfade.devservices;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point of the child JVM that {@link LocalKafka} starts. Formatting the storage and running the broker in one JVM
 * saves a second JVM start (about a second on a small machine). A watchdog ends the broker when the parent JVM dies
 * without running its shutdown hooks (e.g. a SIGKILLed test JVM), so no orphan broker keeps memory and ports.
 *
 * <p>Arguments: {@code server.properties clusterId parentPid homeDir}. Package-private: only LocalKafka launches it.
 */
final class KafkaBrokerMain {
    /** In the home directory: extra arguments of {@code kafka-storage format}, one per line. */
    static final String FORMAT_ARGS = "format-args";

    private KafkaBrokerMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: KafkaBrokerMain server.properties clusterId parentPid homeDir");
            System.exit(2);
        }
        String config = args[0];
        String clusterId = args[1];
        long parentPid = Long.parseLong(args[2]);
        Path home = Path.of(args[3]);
        watchParent(parentPid, home);

        // --ignore-formatted makes this a no-op on restart, so data written before a kill survives. The quorum
        // options (--standalone, or none with static voters) and SCRAM users (--add-scram) come from a file, so that
        // passwords never appear on a command line that ps shows.
        List<String> format =
                new ArrayList<>(List.of("format", "--config", config, "--cluster-id", clusterId, "--ignore-formatted"));
        Path formatArgs = home.resolve(FORMAT_ARGS);
        if (Files.exists(formatArgs)) {
            format.addAll(Files.readAllLines(formatArgs, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isEmpty())
                    .toList());
        } else {
            format.add("--standalone");
        }
        int rc;
        try {
            rc = kafka.tools.StorageTool.execute(format.toArray(String[]::new), System.out);
        } catch (RuntimeException e) {
            System.err.println("kafka-storage format failed: " + e);
            e.printStackTrace();
            rc = 1;
        }
        if (rc != 0) {
            System.err.println("kafka-storage format exited with " + rc);
            System.exit(rc);
        }
        System.out.println("crossfade: storage formatted, starting broker");
        System.out.flush();
        kafka.Kafka.main(new String[] {config});
    }

    private static void watchParent(long parentPid, Path home) {
        Runnable orphaned = () -> {
            System.err.println("crossfade: parent JVM " + parentPid + " is gone; halting broker and removing " + home);
            Processes.deleteQuietly(home);
            Runtime.getRuntime().halt(3);
        };
        ProcessHandle.of(parentPid).ifPresentOrElse(p -> p.onExit().thenRun(orphaned), orphaned);
    }
}
