package dev.crossfade.cli.command;

import dev.crossfade.cli.config.Redaction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code crossfade shadow-report}: the shadow comparison of a running worker process, read from its HTTP endpoint
 * (comparisons live where both copies run).
 */
@Command(name = "shadow-report", mixinStandardHelpOptions = true,
        description = "Print the shadow comparison (matched, mismatched with examples, missing, duplicates, error "
                + "rate and latency per backend) of a running `crossfade work` process, as JSON.")
public final class ShadowReportCommand implements Callable<Integer> {
    @Option(names = "--url", defaultValue = "http://127.0.0.1:9400",
            description = "the worker's http.bind:http.port (default: ${DEFAULT-VALUE})")
    URI url;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
        HttpResponse<String> res;
        try {
            res = http.send(HttpRequest.newBuilder(url.resolve("/api/shadow-report")).timeout(Duration.ofSeconds(5))
                    .build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("no crossfade worker answers at " + Redaction.redact(url.toString())
                    + ": start `crossfade work`, or pass --url", e);
        }
        if (res.statusCode() != 200) {
            throw new IllegalStateException(Redaction.redact(url.toString()) + " answered " + res.statusCode());
        }
        spec.commandLine().getOut().println(res.body());
        spec.commandLine().getOut().flush();
        return 0;
    }
}
