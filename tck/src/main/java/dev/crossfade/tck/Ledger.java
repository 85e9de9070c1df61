package dev.crossfade.tck;

import dev.crossfade.api.Backend;
import dev.crossfade.api.worker.JobArgs;
import dev.crossfade.api.worker.JobContext;
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

    public List<Run> starts(String jid) {
        return started.getOrDefault(jid, List.of());
    }

    public int completions(String jid) {
        return completed.getOrDefault(jid, List.of()).size();
    }

    public boolean completedAll(Collection<String> jids) {
        return jids.stream().allMatch(completed::containsKey);
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
