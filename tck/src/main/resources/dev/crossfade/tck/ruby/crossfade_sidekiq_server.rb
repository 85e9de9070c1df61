# The setup every Ruby Sidekiq server started by Crossfade's tests shares (`require "crossfade_sidekiq_server"` from the
# file given to `sidekiq -r`; SidekiqScripts puts this directory on RUBYLIB): real Sidekiq (Debian's 6.4 on MRI, or
# 8.x on JRuby from the sidekiq8 kit) pointed at the test Redis by REDIS_URL.
begin
  require "redis"
  # The Debian redis gem (4.8) warns about APIs Sidekiq 6.4 still uses; the warnings are noise here.
  Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
rescue LoadError
  # Sidekiq 7 and 8 use redis-client.
end
require "sidekiq"

# Poll the schedule and retry sets every ~1 s instead of Sidekiq's default (which also waits 10 s before the first
# poll), so a job scheduled or retried from Java comes back promptly.
if Sidekiq::VERSION.to_i >= 7
  Sidekiq.configure_server do |config|
    config[:poll_interval_average] = 1
    config[:average_scheduled_poll_interval] = 1
  end
else
  Sidekiq.options[:poll_interval_average] = 1
end
