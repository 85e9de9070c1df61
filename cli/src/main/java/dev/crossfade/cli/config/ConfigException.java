package dev.crossfade.cli.config;

/**
 * Bad configuration. The message is one line naming the key and the fix; the command prints it and exits with code 2.
 */
public class ConfigException extends RuntimeException {
    private final String key;

    public ConfigException(String key, String message) {
        super("config error: " + key + ": " + message);
        this.key = key;
    }

    public String key() {
        return key;
    }
}
