package dev.crossfade.tck;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The Ruby every test-started Sidekiq server shares ({@code crossfade_sidekiq_server.rb}: Sidekiq loaded quietly, the
 * retry and schedule sets polled every second), so each module's worker script holds only its own job classes.
 */
public final class SidekiqScripts {
    private static final String[] FILES = {"crossfade_sidekiq_server.rb"};
    private static Path lib;

    private SidekiqScripts() {}

    /**
     * A directory holding the shared scripts, for {@code RUBYLIB} (MRI and JRuby both read it); copied out of this jar
     * once per JVM, since Ruby cannot load from a jar.
     */
    public static synchronized Path rubyLib() {
        if (lib == null) {
            try {
                Path dir = Files.createTempDirectory("crossfade-ruby-");
                // Deleted in reverse order of registration: the files, then the directory.
                dir.toFile().deleteOnExit();
                for (String f : FILES) {
                    try (InputStream in = SidekiqScripts.class.getResourceAsStream("ruby/" + f)) {
                        if (in == null) {
                            throw new IllegalStateException("ruby/" + f + " is missing from the test kit");
                        }
                        Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
                    }
                    dir.resolve(f).toFile().deleteOnExit();
                }
                lib = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return lib;
    }

    /** {@code RUBYLIB} for a child Ruby: the shared scripts first, then whatever the caller's environment had. */
    public static String rubyLibPath(String inherited) {
        String own = rubyLib().toString();
        return inherited == null || inherited.isBlank() ? own : own + java.io.File.pathSeparator + inherited;
    }
}
