package dev.crossfade.tck;

import dev.crossfade.api.Backend;
import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** Records every run by jid, so tests can count runs (exactly once, no loss) instead of trusting logs. */
public final class Ledger {
    /** One run of one job. */
    public record Run(String jid, int attempt, Backend backend, boolean shadow, Instant startedAt, String argsJson) {}

    private final Map<String, List<Run>> started = new ConcurrentHashMap<>();
    private final Map<String, List<Run>> completed = new ConcurrentHashMap<>();

    /** Records that a run started. */
    public Run start(JobArgs args, JobContext ctx) {
        Run run = new Run(
                ctx.jid(),
                ctx.attempt(),
                ctx.backend(),
                ctx.shadow(),
                Instant.now(),
                args.raw().toString());
        started.computeIfAbsent(ctx.jid(), k -> new CopyOnWriteArrayList<>()).add(run);
        return run;
    }

    /** Records that a run finished without throwing. */
    public void complete(Run run) {
        completed.computeIfAbsent(run.jid(), k -> new CopyOnWriteArrayList<>()).add(run);
    }

    /**
     * Records a finished run known only by its jid: one counted where the context is not at hand, such as a line of a
     * child JVM's run file.
     */
    public void complete(String jid) {
        complete(new Run(jid, 0, null, false, Instant.now(), ""));
    }

    /** Records a finished run for each non-blank line (a jid) of the file, if it exists. */
    public void completeFromFile(Path file) throws IOException {
        if (Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    complete(line.trim());
                }
            }
        }
    }

    /** Adds every finished run of {@code other}, to count runs of several processes together. */
    public void completeAll(Ledger other) {
        other.completed.values().forEach(runs -> runs.forEach(this::complete));
    }

    public List<Run> starts(String jid) {
        return started.getOrDefault(jid, List.of());
    }

    public int completions(String jid) {
        return completed.getOrDefault(jid, List.of()).size();
    }

    public boolean completedAll(Collection<String> jids) {
        return jids.stream().allMatch(completed::containsKey);
    }

    /** How many of the jids completed at least once. */
    public long completedCount(Collection<String> jids) {
        return jids.stream().filter(completed::containsKey).count();
    }

    /** The jids never completed, in their order. */
    public List<String> missing(Collection<String> jids) {
        return jids.stream().filter(j -> !completed.containsKey(j)).toList();
    }

    /** Jids completed more than once, with their counts. */
    public Map<String, Integer> duplicates() {
        return completed.entrySet().stream()
                .filter(e -> e.getValue().size() > 1)
                .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().size()));
    }

    public int completedCount() {
        return completed.size();
    }
}
