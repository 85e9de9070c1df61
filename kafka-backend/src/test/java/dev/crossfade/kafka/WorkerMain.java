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
 * A worker process for the kill test: runs {@code SlowWorker} jobs from queue {@code default}, appending each
 * finished jid to a file (so the test can count runs of a process it SIGKILLs), until killed.
 *
 * <p>Arguments: {@code bootstrap prefix mode ledgerFile}.
 */
public final class WorkerMain {
    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        String prefix = args[1];
        KafkaBackendConfig.Mode mode = KafkaBackendConfig.Mode.valueOf(args[2]);
        Path ledger = Path.of(args[3]);
        KafkaBackend backend = KafkaBackend.create(FaultTestSupport.config(bootstrap, prefix, mode).build());
        WorkerRegistry registry = WorkerRegistry.builder().register("SlowWorker", (a, ctx) -> {
            Thread.sleep(a.get(0).asLong());
            append(ledger, ctx.jid());
        }).build();
        WorkerRuntime workers = backend.workers(ExecutionCore.builder(registry).build(), Set.of("default"), 4);
        workers.start();
        System.out.println("worker started");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    private static synchronized void append(Path ledger, String jid) {
        try {
            Files.writeString(ledger, jid + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
