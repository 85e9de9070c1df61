package dev.crossfade.spring.boot.testapp;

import org.springframework.boot.autoconfigure.SpringBootApplication;

/** An application as a user writes one: the starter on the classpath, one worker bean. */
@SpringBootApplication
public class TestApp {
}
