/**
 * JUnit Jupiter support: {@link dev.crossfade.devservices.junit.CrossfadeServices} shares one Redis and one Kafka per
 * test JVM and gives each test its own {@link dev.crossfade.devservices.TestNamespace}.
 */
package dev.crossfade.devservices.junit;
