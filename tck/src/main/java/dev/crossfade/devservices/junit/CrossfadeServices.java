package dev.crossfade.devservices.junit;

import dev.crossfade.devservices.DevServices;
import dev.crossfade.devservices.KafkaService;
import dev.crossfade.devservices.LocalKafka;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.LocalRedis;
import dev.crossfade.devservices.RedisService;
import dev.crossfade.devservices.TestNamespace;
import java.lang.reflect.Method;
import java.util.Set;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtensionContext.Namespace;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JUnit Jupiter extension that hands tests a real Redis, a real Kafka, a private {@link TestNamespace} and a private
 * {@link LocalLaunchDarkly} as parameters.
 * Starting a broker costs seconds, so there is at most one Redis and one Kafka per test JVM: each is started lazily the
 * first time a test asks for it, kept in the root extension context, and closed when the whole test run ends. Where
 * they come from (local process, Testcontainers, external server) is decided by {@link DevServices}.
 *
 * <p>Usage: annotate the class with {@code @ExtendWith(CrossfadeServices.class)} and declare parameters on test
 * methods, constructors, or {@code @BeforeEach}/{@code @AfterEach}/{@code @BeforeAll} methods:
 *
 * <pre>{@code
 * @ExtendWith(CrossfadeServices.class)
 * class RedisBackendTest {
 *     @Test
 *     void enqueues(RedisService redis, KafkaService kafka, TestNamespace ns) {
 *         String queueKey = ns.key("queue", "default");
 *         String topic = ns.topic("jobs");
 *     }
 * }
 * }</pre>
 *
 * <ul>
 *   <li>{@link RedisService}, {@link KafkaService}: the shared servers; works with every source.</li>
 *   <li>{@link LocalRedis}, {@link LocalKafka}: the same shared servers as local processes; resolution fails with an
 *       explanation if an external or container server is in use. Do not kill, stop or close them: other tests use
 *       them too (if a test leaves one paused or dead anyway, the next resolution resumes or restarts it). Fault tests
 *       create their own {@code LocalRedis}/{@code LocalKafka} instead.</li>
 *   <li>{@link LocalLaunchDarkly}: a started one with no flags and the default SDK key, of this test alone (flags
 *       are per test): the same one in that test's constructor, {@code @BeforeEach}, test method and
 *       {@code @AfterEach}, closed when the test ends. Per class in {@code @BeforeAll}.</li>
 *   <li>{@link TestNamespace}: unique per test method; the same value in that test's constructor, {@code @BeforeEach},
 *       test method and {@code @AfterEach}. In {@code @BeforeAll} (or with a per-class lifecycle) it is per class.</li>
 * </ul>
 */
public final class CrossfadeServices implements ParameterResolver {
    private static final Logger LOG = LoggerFactory.getLogger(CrossfadeServices.class);
    private static final Namespace STORE = Namespace.create(CrossfadeServices.class);
    private static final Set<Class<?>> SUPPORTED = Set.of(
            RedisService.class,
            KafkaService.class,
            LocalRedis.class,
            LocalKafka.class,
            TestNamespace.class,
            LocalLaunchDarkly.class);

    /** Instantiated by JUnit. */
    public CrossfadeServices() {}

    /** Constructor parameters get the test method's context, so a per-method test instance gets that method's namespace. */
    @Override
    public ExtensionContextScope getTestInstantiationExtensionContextScope(ExtensionContext rootContext) {
        return ExtensionContextScope.TEST_METHOD;
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return SUPPORTED.contains(parameterContext.getParameter().getType());
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext context) {
        Class<?> type = parameterContext.getParameter().getType();
        if (type == TestNamespace.class) {
            // Stores see their parents' values, so the key names the context: a method must not inherit the class's.
            return context.getStore(STORE)
                    .computeIfAbsent(
                            "namespace:" + context.getUniqueId(),
                            k -> TestNamespace.random(hint(context)),
                            TestNamespace.class);
        }
        if (type == LocalLaunchDarkly.class) {
            // Tests change its flags, so each test gets its own; it starts in milliseconds, and closes with the test.
            return context.getStore(STORE)
                    .computeIfAbsent(
                            "launchdarkly:" + context.getUniqueId(),
                            k -> LocalLaunchDarkly.builder().build().start(),
                            LocalLaunchDarkly.class);
        }
        if (type == RedisService.class || type == LocalRedis.class) {
            RedisService redis = sharedRedis(context);
            if (type == LocalRedis.class) {
                return healthy(local(redis, LocalRedis.class, "Redis", DevServices.REDIS_URL));
            }
            return redis instanceof LocalRedis ? healthy((LocalRedis) redis) : redis;
        }
        KafkaService kafka = sharedKafka(context);
        if (type == LocalKafka.class) {
            return healthy(local(kafka, LocalKafka.class, "Kafka", DevServices.KAFKA_BOOTSTRAP));
        }
        return kafka instanceof LocalKafka ? healthy((LocalKafka) kafka) : kafka;
    }

    private static RedisService sharedRedis(ExtensionContext context) {
        // The root store closes AutoCloseable values when the test plan finishes, i.e. once per JVM.
        return context.getRoot()
                .getStore(STORE)
                .computeIfAbsent(
                        "redis",
                        k -> {
                            RedisService redis = DevServices.redis();
                            LOG.info("shared Redis for this test JVM: {}", redis);
                            return redis;
                        },
                        RedisService.class);
    }

    private static KafkaService sharedKafka(ExtensionContext context) {
        return context.getRoot()
                .getStore(STORE)
                .computeIfAbsent(
                        "kafka",
                        k -> {
                            KafkaService kafka = DevServices.kafka();
                            LOG.info("shared Kafka for this test JVM: {}", kafka);
                            return kafka;
                        },
                        KafkaService.class);
    }

    private static <T> T local(Object service, Class<T> type, String what, String variable) {
        if (!type.isInstance(service)) {
            throw new ParameterResolutionException("a " + type.getSimpleName() + " parameter needs the shared " + what
                    + " to be a local process, but it is " + service + " (chosen because " + variable + " or "
                    + DevServices.TESTCONTAINERS + " is set), which cannot be killed or paused. Declare "
                    + (type == LocalRedis.class ? "RedisService" : "KafkaService") + " instead, or start your own "
                    + type.getSimpleName() + " for fault tests.");
        }
        return type.cast(service);
    }

    private static LocalRedis healthy(LocalRedis redis) {
        synchronized (redis) {
            if (redis.isPaused()) {
                LOG.warn("a test left the shared {} paused; resuming it", redis);
                redis.resume();
            } else if (!redis.isRunning()) {
                LOG.warn("a test stopped the shared {}; restarting it", redis);
                redis.restart();
            }
        }
        return redis;
    }

    private static LocalKafka healthy(LocalKafka kafka) {
        synchronized (kafka) {
            if (kafka.isPaused()) {
                LOG.warn("a test left the shared {} paused; resuming it", kafka);
                kafka.resume();
            } else if (!kafka.isRunning()) {
                LOG.warn("a test stopped the shared {}; restarting it", kafka);
                kafka.restart();
            }
        }
        return kafka;
    }

    private static String hint(ExtensionContext context) {
        return context.getTestMethod()
                .map(Method::getName)
                .orElseGet(
                        () -> context.getTestClass().map(Class::getSimpleName).orElse(""));
    }
}
