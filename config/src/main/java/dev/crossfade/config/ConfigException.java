package dev.crossfade.config;

/**
 * Bad configuration. The message is one line naming the key and the fix, with any secret masked; the command prints
 * it and exits with code 2.
 */
public class ConfigException extends RuntimeException {
    private final String key;

    public ConfigException(String key, String message) {
        super(Redaction.redact("config error: " + key + ": " + oneLine(message)));
        this.key = key;
    }

    public String key() {
        return key;
    }

    private static String oneLine(String message) {
        return message == null ? "invalid" : message.replaceAll("\\s*[\\r\\n]+\\s*", " ");
    }
}
