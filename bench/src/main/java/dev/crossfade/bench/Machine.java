package dev.crossfade.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.internals.AppInfoParser;

/**
 * What the figures were measured on: CPU, memory, JDK and the versions of every server and reference, plus the load
 * average when the run started (the machine may be shared, and the figures say so).
 */
final class Machine {
    private Machine() {}

    static Map<String, String> describe(String redisVersion, Path work) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(
                "CPU",
                cpuModel() + " (" + Runtime.getRuntime().availableProcessors() + " cores visible, nproc "
                        + firstLine(List.of("nproc"), work) + ")");
        m.put("memory", memTotal());
        m.put("OS", System.getProperty("os.name") + " " + System.getProperty("os.version"));
        m.put("JDK", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
        m.put("Redis", redisVersion);
        m.put("Kafka (broker and clients)", AppInfoParser.getVersion());
        m.put("Ruby", firstLine(List.of("ruby", "--version"), work));
        m.put("Ruby Sidekiq", firstLine(List.of("ruby", "-e", "require 'sidekiq'; puts Sidekiq::VERSION"), work));
        m.put("redis-benchmark", firstLine(List.of("redis-benchmark", "--version"), work));
        m.put("load average at start (1/5/15 min)", loadAverage());
        return m;
    }

    static String loadAverage() {
        String l = readFirst(Path.of("/proc/loadavg"));
        String[] parts = l.split(" ");
        return parts.length >= 3 ? parts[0] + " / " + parts[1] + " / " + parts[2] : l;
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // Not Linux: fall through.
        }
        return System.getProperty("os.arch");
    }

    private static String memTotal() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(java.util.Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return "unknown";
    }

    private static String readFirst(Path p) {
        try {
            return Files.readAllLines(p).get(0).trim();
        } catch (IOException | IndexOutOfBoundsException e) {
            return "unknown";
        }
    }

    private static String firstLine(List<String> cmd, Path work) {
        try {
            return Child.run(cmd, Map.of(), work, Duration.ofSeconds(30))
                    .strip()
                    .lines()
                    .reduce((a, b) -> b)
                    .orElse("unknown");
        } catch (RuntimeException e) {
            return "unavailable (" + e.getMessage().lines().findFirst().orElse("") + ")";
        }
    }
}
