/**
 * Real Redis and Kafka servers for tests and the demo, without Docker: {@link dev.crossfade.devservices.LocalRedis} runs
 * {@code redis-server}, {@link dev.crossfade.devservices.LocalKafka} runs a KRaft broker from the Kafka jars in a child
 * JVM. Both can be killed, restarted on the same port and data, and frozen, because the migration's promises (no job
 * lost, no job run twice when a backend fails) can only be checked against servers that really fail.
 * {@link dev.crossfade.devservices.DevServices} swaps in containers or external servers when asked.
 * {@link dev.crossfade.devservices.LocalLaunchDarkly} stands in for LaunchDarkly's streaming, polling and events services,
 * in this JVM, so the real LaunchDarkly SDK can be driven and its events read back.
 */
package dev.crossfade.devservices;
