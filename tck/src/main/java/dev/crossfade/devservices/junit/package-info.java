/**
 * JUnit Jupiter support: {@link dev.crossfade.devservices.junit.CrossfadeServices} shares one Redis and one Kafka per
 * test JVM and gives each test its own {@link dev.crossfade.devservices.TestNamespace} and
 * {@link dev.crossfade.devservices.LocalLaunchDarkly}.
 */
package dev.crossfade.devservices.junit;
