package dev.crossfade.cli.command;

import dev.crossfade.cli.Options;
import dev.crossfade.cli.runtime.Node;
import dev.crossfade.config.Redaction;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code crossfade shadow-report}: the shadow comparison of every worker process, read from the store they share in
 * Redis; or, with {@code --url}, one process's report from its HTTP endpoint.
 */
@Command(
        name = "shadow-report",
        mixinStandardHelpOptions = true,
        description = "Print the shadow comparison (matched, mismatched with examples, missing, duplicates) of every "
                + "`crossfade work` process, read from Redis, as JSON. With --url, a running process's report, with "
                + "its own error rate and latency per backend.")
public final class ShadowReportCommand implements Callable<Integer> {
    @Mixin
    Options options;

    @Option(names = "--url", description = "read a running worker's report at its http.bind:http.port instead")
    URI url;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String json;
        if (url == null) {
            try (Node node = Node.start(options.load(), new SimpleMeterRegistry())) {
                json = node.comparator().report().toJson();
            }
        } else {
            json = fetch();
        }
        spec.commandLine().getOut().println(json);
        spec.commandLine().getOut().flush();
        return 0;
    }

    private String fetch() throws InterruptedException {
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        HttpResponse<String> res;
        try {
            res = http.send(
                    HttpRequest.newBuilder(url.resolve("/api/shadow-report"))
                            .timeout(Duration.ofSeconds(5))
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new IllegalStateException(
                    "no crossfade worker answers at " + Redaction.redact(url.toString())
                            + ": start `crossfade work`, or leave out --url to read the shared comparison from Redis",
                    e);
        }
        if (res.statusCode() != 200) {
            throw new IllegalStateException(Redaction.redact(url.toString()) + " answered " + res.statusCode());
        }
        return res.body();
    }
}
