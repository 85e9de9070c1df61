package dev.crossfade.cli.ramp;

import dev.crossfade.flags.file.FlagsFile;
import java.io.IOException;

/** Where a guarded rollout moves traffic: the flags file, or LaunchDarkly through its REST API. */
interface Traffic {
    /** Routes {@code percent}% of jobs to Kafka. */
    void setKafkaPercent(double percent) throws IOException;

    /** Everything to Redis: the kill switch on, and the route flag at 0% so turning the switch off sends none back. */
    void rollBack() throws IOException;

    /** Turns the kill switch off after a rollback (the route flag stays at 0%). */
    void clear() throws IOException;

    String describe();

    /** The local flags file: every router reading it sees a change within about a second. */
    static Traffic file(FlagsFile file) {
        return new Traffic() {
            @Override
            public void setKafkaPercent(double percent) {
                file.setKafkaPercent(percent);
            }

            @Override
            public void rollBack() {
                FlagsFile.Settings s = file.read();
                file.write(new FlagsFile.Settings(0, true, s.shadowPercent()));
            }

            @Override
            public void clear() {
                file.setKillSwitch(false);
            }

            @Override
            public String describe() {
                return "flags file " + file.path();
            }
        };
    }

    /** LaunchDarkly's REST API. */
    static Traffic launchDarkly(LaunchDarklyApi api, String routeFlag, String killSwitchFlag) {
        return new Traffic() {
            @Override
            public void setKafkaPercent(double percent) throws IOException {
                api.setKafkaPercent(routeFlag, percent);
            }

            @Override
            public void rollBack() throws IOException {
                api.setKillSwitch(killSwitchFlag, true);
                api.setKafkaPercent(routeFlag, 0);
            }

            @Override
            public void clear() throws IOException {
                api.setKillSwitch(killSwitchFlag, false);
            }

            @Override
            public String describe() {
                return "LaunchDarkly flags '" + routeFlag + "' and '" + killSwitchFlag + "'";
            }
        };
    }
}
