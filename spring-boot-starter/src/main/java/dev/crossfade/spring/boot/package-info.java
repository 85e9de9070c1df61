/**
 * Spring Boot auto-configuration for Crossfade: the {@code crossfade.*} keys are the
 * {@code crossfade} command's settings ({@link dev.crossfade.config.Setting#ALL}: same keys, defaults and errors), and
 * {@link dev.crossfade.spring.boot.CrossfadeWorker} turns a Spring bean into a registered worker.
 */
package dev.crossfade.spring.boot;
