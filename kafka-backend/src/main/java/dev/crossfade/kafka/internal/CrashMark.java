package dev.crossfade.kafka.internal;

/**
 * What a consumer group partition's committed offset metadata says about the jobs its owner may have started, so
 * that the next owner can tell whether they took the previous one down. Internal.
 *
 * <p>A record is redelivered unchanged after a crash, so a count cannot travel with it; the committed offset is the
 * one place every later owner of the partition reads before it runs anything. An owner writes, durably before it
 * starts a record:
 * <ul>
 *   <li>{@code hi}: no record past it was started (records are handed to workers only once a commit announcing them
 *   was acknowledged);</li>
 *   <li>{@code deaths}: how many owners will have died with the records from the committed offset to {@code hi} in
 *   flight, should this one die now;</li>
 *   <li>{@code alone}, {@code aloneDeaths}: the record running alone (recovery after a crash) and the deaths it will
 *   have caused by itself if this owner dies now; -1 when none.</li>
 * </ul>
 * An owner that let go of a partition with every started job finished writes {@link #CLEAN}.
 *
 * @param clean       the previous owner finished every job it started
 * @param hi          the highest offset that may have been started
 * @param deaths      owners that died with the range in flight, counting this one should it die
 * @param alone       the offset running alone, or -1
 * @param aloneDeaths deaths of the record running alone, counting this one should it die
 */
public record CrashMark(boolean clean, long hi, int deaths, long alone, int aloneDeaths) {
    public static final CrashMark CLEAN = new CrashMark(true, -1, 0, -1, 0);
    private static final String PREFIX = "crossfade1 ";

    /** The mark of an owner running normally: records up to {@code hi} may run. */
    public static CrashMark running(long hi) {
        return new CrashMark(false, hi, 1, -1, 0);
    }

    /** The offset metadata string. */
    public String format() {
        if (clean) {
            return PREFIX + "clean";
        }
        return PREFIX + "hi=" + hi + " deaths=" + deaths
                + (alone >= 0 ? " alone=" + alone + " aloneDeaths=" + aloneDeaths : "");
    }

    /** Reads offset metadata; anything not written by {@link #format()} (none, another tool's) is clean. */
    public static CrashMark parse(String metadata) {
        if (metadata == null || !metadata.startsWith(PREFIX)) {
            return CLEAN;
        }
        long hi = -1;
        long alone = -1;
        int deaths = 0;
        int aloneDeaths = 0;
        try {
            for (String field : metadata.substring(PREFIX.length()).split(" ")) {
                int eq = field.indexOf('=');
                if (eq < 0) {
                    continue;
                }
                String v = field.substring(eq + 1);
                switch (field.substring(0, eq)) {
                    case "hi" -> hi = Long.parseLong(v);
                    case "deaths" -> deaths = Integer.parseInt(v);
                    case "alone" -> alone = Long.parseLong(v);
                    case "aloneDeaths" -> aloneDeaths = Integer.parseInt(v);
                    default -> {
                        // a field of a later version: ignored
                    }
                }
            }
        } catch (NumberFormatException e) {
            return CLEAN;
        }
        return hi < 0 || deaths < 1 ? CLEAN : new CrashMark(false, hi, deaths, alone, aloneDeaths);
    }
}
