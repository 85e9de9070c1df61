package dev.crossfade.kafka;

import dev.crossfade.api.WorkerRuntime;
import dev.crossfade.api.execution.ExecutionCore;
import dev.crossfade.api.worker.WorkerRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * A worker process for the kill tests: runs {@code SlowWorker} jobs from queue {@code default}, appending each
 * finished jid to a file (so the test can count runs of a process it SIGKILLs), until killed. A {@code HaltWorker} job
 * halts the JVM (a job that takes its worker down).
 *
 * <p>Arguments: {@code bootstrap prefix mode ledgerFile [maxRecoveries]}; with {@code maxRecoveries}, a 3 s session
 * timeout so that the test's restarts take over a dead process's partitions quickly.
 */
public final class WorkerMain {
    private WorkerMain() {}

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String prefix = args[1];
        KafkaBackendConfig.Mode mode = KafkaBackendConfig.Mode.valueOf(args[2]);
        Path ledger = Path.of(args[3]);
        KafkaBackendConfig.Builder config = FaultTestSupport.config(bootstrap, prefix, mode);
        if (args.length > 4) {
            config.maxRecoveries(Integer.parseInt(args[4])).groupConfig("consumer.session.timeout.ms", "3000");
        }
        KafkaBackend backend = KafkaBackend.create(config.build());
        WorkerRegistry registry = WorkerRegistry.builder()
                .register("SlowWorker", (a, ctx) -> {
                    Thread.sleep(a.get(0).asLong());
                    append(ledger, ctx.jid());
                })
                .register("HaltWorker", (a, ctx) -> {
                    append(ledger, "halt " + ctx.jid());
                    Runtime.getRuntime().halt(3);
                })
                .build();
        WorkerRuntime workers = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 4);
        workers.start();
        System.out.println("worker started");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static synchronized void append(Path ledger, String jid) {
        try {
            Files.writeString(
                    ledger, jid + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
