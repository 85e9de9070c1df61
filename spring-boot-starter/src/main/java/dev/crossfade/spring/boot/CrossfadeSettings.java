package dev.crossfade.spring.boot;

import dev.crossfade.config.CrossfadeConfig;
import dev.crossfade.config.Setting;
import dev.crossfade.spring.boot.internal.ConfigurationMetadata;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationProperty;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.boot.origin.Origin;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.Environment;
import org.springframework.core.env.StandardEnvironment;

/**
 * Reads the {@code crossfade.*} properties into the command's {@link CrossfadeConfig}: the keys of
 * {@link Setting#ALL} under {@code crossfade.}, in any of Spring's relaxed forms and property sources
 * ({@code CROSSFADE_REDIS_URL} included), with the command's defaults and its checks. A bad value or an unknown key
 * fails the start with the command's one-line message, the key named with its {@code crossfade.} prefix.
 */
final class CrossfadeSettings {
    /** Spring's property prefix. */
    static final String PREFIX = "crossfade.";

    /** The starter's own key: false makes an enqueue-only application. */
    static final String WORKERS_ENABLED = "workers.enabled";

    private CrossfadeSettings() {}

    static CrossfadeConfig bind(Environment environment) {
        Binder binder = Binder.get(environment);
        Map<String, String> set = new LinkedHashMap<>();
        Map<String, String> sources = new LinkedHashMap<>();
        List<String> unknown = unknownKeys(environment);
        if (!unknown.isEmpty()) {
            throw CrossfadeConfig.unknownKey(PREFIX, unknown.get(0), null);
        }
        for (Setting s : Setting.ALL) {
            if (commandOnly(s.key())) {
                continue;
            }
            String name = PREFIX + s.key();
            String value = s.type() == Setting.Type.LIST
                    ? binder.bind(name, Bindable.listOf(String.class))
                            .map(l -> String.join(",", l))
                            .orElse(null)
                    : binder.bind(name, String.class).orElse(null);
            if (value != null) {
                set.put(s.key(), value);
                String origin = origin(environment, name);
                if (origin != null) {
                    sources.put(s.key(), "in " + origin);
                }
            }
        }
        // As for the command: LaunchDarkly's usual variable serves when the key is not set.
        String ldKey = environment.getProperty("LD_SDK_KEY");
        if (!set.containsKey("flags.sdk-key") && ldKey != null && !ldKey.isBlank()) {
            set.put("flags.sdk-key", ldKey);
            sources.put("flags.sdk-key", "LD_SDK_KEY");
        }
        return CrossfadeConfig.of(set, sources, PREFIX, "Spring properties");
    }

    private static boolean commandOnly(String key) {
        return ConfigurationMetadata.commandOnly(key);
    }

    /**
     * The {@code crossfade.*} keys the application's own property sources name (not the process environment, which
     * carries other programs' {@code CROSSFADE_} variables, as the command ignores them too), as setting keys;
     * those that are neither {@link Setting#ALL}'s nor the starter's own.
     */
    private static List<String> unknownKeys(Environment environment) {
        if (!(environment instanceof ConfigurableEnvironment configurable)) {
            return List.of();
        }
        Map<String, String> known = new LinkedHashMap<>();
        for (Setting s : Setting.ALL) {
            known.put(uniform(s.key()), s.key());
        }
        known.put(uniform(WORKERS_ENABLED), WORKERS_ENABLED);
        ConfigurationPropertyName root = ConfigurationPropertyName.of("crossfade");
        java.util.Set<String> unknown = new java.util.LinkedHashSet<>();
        configurable.getPropertySources().forEach(ps -> {
            if (ps.getName().equals(StandardEnvironment.SYSTEM_ENVIRONMENT_PROPERTY_SOURCE_NAME)) {
                return;
            }
            ConfigurationPropertySource source = ConfigurationPropertySource.from(ps);
            if (!(source instanceof IterableConfigurationPropertySource iterable)) {
                return;
            }
            iterable.filter(root::isAncestorOf).stream().forEach(name -> {
                StringBuilder key = new StringBuilder();
                for (int i = 1; i < name.getNumberOfElements(); i++) {
                    if (name.isNumericIndex(i)) {
                        break; // a list item: the key is its parent
                    }
                    key.append(key.length() == 0 ? "" : ".")
                            .append(name.getElement(i, ConfigurationPropertyName.Form.DASHED));
                }
                String k = key.toString();
                if (!known.containsKey(uniform(k)) && !commandOnly(k)) {
                    unknown.add(k);
                }
            });
        });
        return List.copyOf(unknown);
    }

    /** A key without dashes and case, as Spring's relaxed binding compares them. */
    private static String uniform(String key) {
        return key.replace("-", "").toLowerCase(Locale.ROOT);
    }

    private static String origin(Environment environment, String name) {
        ConfigurationPropertyName property = ConfigurationPropertyName.of(name);
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            ConfigurationProperty p = source.getConfigurationProperty(property);
            if (p != null) {
                Origin origin = p.getOrigin();
                return origin == null ? null : origin.toString();
            }
        }
        return null;
    }
}
