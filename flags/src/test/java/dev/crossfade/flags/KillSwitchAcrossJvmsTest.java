package dev.crossfade.flags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.crossfade.devservices.ChildJvm;
import dev.crossfade.devservices.LocalLaunchDarkly;
import dev.crossfade.devservices.junit.CrossfadeServices;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The kill switch flipped in LaunchDarkly (here {@link LocalLaunchDarkly}) and streamed to the routers of three other
 * JVMs ({@link KillSwitchWatcher}): how long until every one of them decides by it, over 50 flips. The figure goes to
 * docs/benchmarks.md; the only bound checked is a generous one (each flip seen within 10 s).
 */
@ExtendWith(CrossfadeServices.class)
class KillSwitchAcrossJvmsTest {
    private static final int JVMS = 3;
    private static final int FLIPS = 50;

    private static String kill(boolean on) {
        return """
                {"on": %s, "salt": "s", "variations": [false, true], "offVariation": 0,
                 "fallthrough": {"variation": 1}, "targets": [], "rules": [], "prerequisites": []}""".formatted(on);
    }

    /** One watcher JVM and the lines it printed, each with the nanoTime it arrived. */
    private record Watcher(ChildJvm process, BlockingQueue<Line> lines) {}

    private record Line(String text, long nanos) {}

    private static Watcher watch(LocalLaunchDarkly ld) {
        BlockingQueue<Line> lines = new LinkedBlockingQueue<>();
        ChildJvm child = ChildJvm.builder(KillSwitchWatcher.class)
                .heap("128m")
                .quickStart()
                .jvmOptions("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn")
                .args(ld.uri().toString(), ld.sdkKey())
                .inheritStderr()
                .onLine(line -> lines.add(new Line(line, System.nanoTime())))
                .start();
        return new Watcher(child, lines);
    }

    @Test
    void aFlipReachesEveryRouterInThreeJvms(LocalLaunchDarkly ld) throws Exception {
        ld.setFlag(FlagsConfig.DEFAULT_KILL_SWITCH_FLAG, kill(false));
        ld.setFlag(FlagsConfig.DEFAULT_ROUTE_FLAG, """
                {"on": true, "salt": "r", "variations": ["redis", "kafka"], "offVariation": 0,
                 "fallthrough": {"variation": 1}, "targets": [], "rules": [], "prerequisites": []}""");
        List<Watcher> watchers = new ArrayList<>();
        try {
            for (int i = 0; i < JVMS; i++) {
                watchers.add(watch(ld));
            }
            for (Watcher w : watchers) {
                Line ready = w.lines().poll(60, TimeUnit.SECONDS);
                assertNotNull(ready, "a watcher JVM did not start");
                assertEquals("ready ROUTE_FLAG", ready.text());
            }
            assertEquals(JVMS, ld.openStreams());
            Histogram micros = new Histogram(3);
            for (int flip = 0; flip < FLIPS; flip++) {
                boolean on = flip % 2 == 0;
                String expected = on ? "KILL_SWITCH" : "ROUTE_FLAG";
                long begin = System.nanoTime();
                ld.setFlag(FlagsConfig.DEFAULT_KILL_SWITCH_FLAG, kill(on));
                long last = begin;
                for (Watcher w : watchers) {
                    Line seen = w.lines().poll(10, TimeUnit.SECONDS);
                    assertNotNull(seen, "flip " + flip + " not seen by a router within 10 s");
                    assertEquals(expected, seen.text(), "flip " + flip);
                    last = Math.max(last, seen.nanos());
                }
                micros.recordValue((last - begin) / 1_000);
            }
            System.out.printf(
                    "kill switch through the stream to every router of %d JVMs, %d flips: p50 %.1f ms, "
                            + "p99 %.1f ms, max %.1f ms%n",
                    JVMS,
                    FLIPS,
                    micros.getValueAtPercentile(50) / 1000.0,
                    micros.getValueAtPercentile(99) / 1000.0,
                    micros.getMaxValue() / 1000.0);
            assertTrue(micros.getTotalCount() == FLIPS);
            assertEquals(1, ld.streamsOpened() / JVMS, "one stream per JVM for all the flips");
        } finally {
            for (Watcher w : watchers) {
                w.process().closeStdin();
                if (!w.process().awaitExit(Duration.ofSeconds(10))) {
                    w.process().kill();
                }
            }
        }
    }
}
