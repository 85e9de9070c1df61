/**
 * Spring Boot auto-configuration for Crossfade: {@link dev.crossfade.spring.boot.CrossfadeProperties} binds the
 * {@code crossfade.*} keys (the same keys and defaults as the {@code crossfade} command's settings), and
 * {@link dev.crossfade.spring.boot.CrossfadeWorker} turns a Spring bean into a registered worker.
 */
package dev.crossfade.spring.boot;
