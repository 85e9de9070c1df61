package dev.crossfade.devservices.junit;

import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** What the extension handed to the tests of this JVM, so test classes can compare across each other. */
final class Seen {
    static final List<RedisService> REDIS = new CopyOnWriteArrayList<>();
    static final List<KafkaService> KAFKA = new CopyOnWriteArrayList<>();
    static final List<TestNamespace> NAMESPACES = new CopyOnWriteArrayList<>();

    private Seen() {}
}
