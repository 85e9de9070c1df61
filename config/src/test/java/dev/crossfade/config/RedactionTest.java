package dev.crossfade.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** What counts as a secret wherever it appears, and that the redacting streams mask it even when written in pieces. */
class RedactionTest {
    @Test
    void passwordsInUrlsAreMaskedAndTheRestKept() {
        assertEquals("redis://:****@redis.internal:6380/2", Redaction.redact("redis://:pw-123@redis.internal:6380/2"));
        assertEquals(
                "cannot reach rediss://app:****@h:6380/0 now",
                Redaction.redact("cannot reach rediss://app:p%40ss:word@h:6380/0 now"));
        assertEquals("'redis://****@h/0'", Redaction.redact("'redis://justapassword@h/0'"));
        assertEquals("redis://127.0.0.1:6379/0", Redaction.redact("redis://127.0.0.1:6379/0"));
        assertEquals("http://relay:8030", Redaction.redact("http://relay:8030"));
    }

    @Test
    void jaasConfigsKeyValuesAndJsonAreMasked() {
        assertEquals(
                "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                        + "username=\"app\" password=\"****\";",
                Redaction.redact("sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
                        + "username=\"app\" password=\"jaas-s3cr3t-pw\";"));
        assertEquals(
                "LD_SDK_KEY=**** ssl.key.password = ****",
                Redaction.redact("LD_SDK_KEY=abc-def ssl.key.password = hunter22"));
        assertEquals("{\"token\":\"****\",\"n\":1}", Redaction.redact("{\"token\":\"abc\",\"n\":1}"));
        assertEquals("sdk key ****", Redaction.redact("sdk key sdk-12345678-1234-1234-1234-123456789abc"));
        // A message about a secret key is not itself a secret.
        assertEquals(
                "config error: http.token: must be set", Redaction.redact("config error: http.token: must be set"));
    }

    @Test
    void rememberedValuesAreMaskedAnywhere() {
        Redaction.remember("remembered-s3cr3t");
        Redaction.rememberUrl("redis://u:enc%2Fpw-s3cr3t@h/0");
        assertEquals("a **** b", Redaction.redact("a remembered-s3cr3t b"));
        assertEquals("decoded ****", Redaction.redact("decoded enc/pw-s3cr3t"));
        Redaction.remember("ab");
        assertEquals("about abc", Redaction.redact("about abc"), "short values are not remembered");
    }

    @Test
    void streamsMaskASecretWrittenInPieces() {
        Redaction.remember("piecewise-s3cr3t");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = Redaction.stream(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        out.print("key piece");
        out.print("wise-s3c");
        out.println("r3t end");
        out.print("no newline yet redis://:pw@h");
        out.flush();
        assertEquals(
                "key **** end" + System.lineSeparator() + "no newline yet redis://:****@h",
                bytes.toString(StandardCharsets.UTF_8));
    }
}
