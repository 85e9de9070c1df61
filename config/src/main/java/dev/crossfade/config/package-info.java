/**
 * Crossfade's settings: {@link dev.crossfade.config.Setting#ALL} is the one table of keys, defaults and environment
 * variables; {@link dev.crossfade.config.CrossfadeConfig} loads and validates values with one-line
 * {@link dev.crossfade.config.ConfigException}s; {@link dev.crossfade.config.Redaction} keeps secrets out of what is
 * printed. The {@code crossfade} command and the Spring Boot starter both read them.
 */
package dev.crossfade.config;
