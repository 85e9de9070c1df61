package dev.crossfade.config;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one place that keeps secrets out of what Crossfade prints: {@code config show}, error messages, the health JSON
 * and, through {@link #stream}, every log line. It masks what looks like a secret wherever it appears (a URL's
 * password, {@code password="..."} in a JAAS config, {@code token=...}, a LaunchDarkly SDK key) and the exact values
 * the configuration marks as secret, which {@link CrossfadeConfig} hands over as it loads them, so a library that
 * echoes a value verbatim in an exception is covered as well.
 */
public final class Redaction {
    /** What a secret is replaced with. */
    public static final String MASK = "****";

    /** A URL's user info: the user stays visible, a password (or user info without one, which may be one) does not. */
    private static final Pattern URL_USERINFO =
            Pattern.compile("(\\b[a-zA-Z][a-zA-Z0-9+.-]*://)([^\\s'\"@/:]*)(:[^\\s'\"]*)?@");
    /** JAAS options ({@code password="..."}) as in Kafka's sasl.jaas.config, whose values may hold \" and \\. */
    private static final Pattern JAAS =
            Pattern.compile("(?i)\\b(password|secret|token)(\\s*=\\s*)\"(?:[^\"\\\\]|\\\\.)*\"");

    private static final String SECRET_KEY =
            "[a-z0-9_.-]*(?:password|passwd|secret|token|sdk[-_.]?key|api[-_.]?key|credentials?)";
    /** key=value where the key names a secret (config dumps, query strings, environment listings). */
    private static final Pattern KEY_EQUALS =
            Pattern.compile("(?i)\\b(" + SECRET_KEY + ")(\\s*=\\s*)(?!\\*\\*\\*\\*|\\[hidden\\])([^\\s,;'\"}&)\\]]+)");
    /** "key": "value" in JSON where the key names a secret. */
    private static final Pattern KEY_JSON = Pattern.compile("(?i)(\"" + SECRET_KEY + "\"\\s*:\\s*\")([^\"]*)(\")");
    /** LaunchDarkly server-side SDK keys. */
    private static final Pattern SDK_KEY = Pattern.compile("\\bsdk-[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}\\b");
    /** Shorter values would mask ordinary words; patterns still catch them where they sit in a URL or key=value. */
    private static final int MIN_KNOWN_LENGTH = 4;

    private static final Set<String> KNOWN = ConcurrentHashMap.newKeySet();

    private Redaction() {}

    /**
     * The user info of a URL-like text (between {@code ://} and the last {@code @} before the path), or null. Works on
     * text that is not a valid URI, so a malformed URL's password is still known.
     */
    static String userInfo(String url) {
        if (url == null) {
            return null;
        }
        int start = url.indexOf("://");
        if (start < 0) {
            return null;
        }
        start += 3;
        int at = url.lastIndexOf('@');
        return at <= start ? null : url.substring(start, at);
    }

    /** Remembers the password (or the whole user info without one) of a URL-like value. */
    public static void rememberUrl(String url) {
        String info = userInfo(url);
        if (info != null) {
            int colon = info.indexOf(':');
            remember(colon < 0 ? info : info.substring(colon + 1));
        }
    }

    /** Adds a value to mask wherever it appears (and its URL-decoded form); ignores null and very short values. */
    public static void remember(String secret) {
        if (secret == null || secret.length() < MIN_KNOWN_LENGTH) {
            return;
        }
        KNOWN.add(secret);
        try {
            String decoded = URLDecoder.decode(secret, StandardCharsets.UTF_8);
            if (decoded.length() >= MIN_KNOWN_LENGTH) {
                KNOWN.add(decoded);
            }
        } catch (IllegalArgumentException notEncoded) {
            // Not percent-encoded: the raw value is all there is.
        }
    }

    /** {@code text} with every secret masked; null stays null. */
    public static String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String out = text;
        // Longest first, so a secret that contains another is masked whole.
        List<String> known = KNOWN.stream()
                .sorted(Comparator.comparingInt(String::length).reversed())
                .toList();
        for (String k : known) {
            if (out.contains(k)) {
                out = out.replace(k, MASK);
            }
        }
        out = replace(URL_USERINFO, out, m -> m.group(1) + (m.group(3) == null ? MASK : m.group(2) + ":" + MASK) + "@");
        out = replace(JAAS, out, m -> m.group(1) + m.group(2) + "\"" + MASK + "\"");
        out = replace(KEY_EQUALS, out, m -> m.group(1) + m.group(2) + MASK);
        out = replace(KEY_JSON, out, m -> m.group(1) + MASK + m.group(3));
        return SDK_KEY.matcher(out).replaceAll(MASK);
    }

    private static String replace(Pattern p, String text, java.util.function.Function<Matcher, String> with) {
        Matcher m = p.matcher(text);
        if (!m.find()) {
            return text;
        }
        StringBuilder sb = new StringBuilder();
        do {
            m.appendReplacement(sb, Matcher.quoteReplacement(with.apply(m)));
        } while (m.find());
        m.appendTail(sb);
        return sb.toString();
    }

    /** A writer that redacts each line (and whatever is flushed) before it reaches {@code out}. */
    public static PrintWriter writer(PrintWriter out) {
        return new PrintWriter(
                new LineRedactor(new Writer() {
                    @Override
                    public void write(char[] buf, int off, int len) {
                        out.write(buf, off, len);
                    }

                    @Override
                    public void flush() {
                        out.flush();
                    }

                    @Override
                    public void close() {
                        out.close();
                    }
                }),
                true);
    }

    /** A stream that redacts each line before it reaches {@code out}: for System.out and System.err (log lines). */
    public static PrintStream stream(PrintStream out) {
        return new PrintStream(
                new OutputStream() {
                    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

                    @Override
                    public synchronized void write(int b) {
                        line.write(b);
                        if (b == '\n') {
                            emit();
                        }
                    }

                    @Override
                    public synchronized void write(byte[] b, int off, int len) {
                        int start = off;
                        for (int i = off; i < off + len; i++) {
                            if (b[i] == '\n') {
                                line.write(b, start, i + 1 - start);
                                emit();
                                start = i + 1;
                            }
                        }
                        line.write(b, start, off + len - start);
                    }

                    @Override
                    public synchronized void flush() {
                        emit();
                        out.flush();
                    }

                    private void emit() {
                        if (line.size() == 0) {
                            return;
                        }
                        byte[] bytes =
                                redact(line.toString(StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
                        out.write(bytes, 0, bytes.length);
                        line.reset();
                    }
                },
                false,
                StandardCharsets.UTF_8); // not auto-flushing: that would flush half a line at every write
    }

    /** Buffers a line, so a secret written in pieces is still masked whole. */
    private static final class LineRedactor extends Writer {
        private final Writer out;
        private final StringBuilder line = new StringBuilder();

        LineRedactor(Writer out) {
            this.out = out;
        }

        @Override
        public synchronized void write(char[] buf, int off, int len) throws java.io.IOException {
            for (int i = off; i < off + len; i++) {
                line.append(buf[i]);
                if (buf[i] == '\n') {
                    emit();
                }
            }
        }

        @Override
        public synchronized void flush() throws java.io.IOException {
            emit();
            out.flush();
        }

        @Override
        public synchronized void close() throws java.io.IOException {
            flush();
            out.close();
        }

        private void emit() throws java.io.IOException {
            if (line.length() > 0) {
                out.write(redact(line.toString()));
                line.setLength(0);
            }
        }
    }
}
