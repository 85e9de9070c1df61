# Loaded by `sidekiq -r ./worker.rb`: a Ruby worker for jobs enqueued from Java. Records each run by jid, with its
# args, so the Java test can check what Ruby received.
begin
  require "redis"
  Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
rescue LoadError
  # Sidekiq 7 and 8 use redis-client.
end
require "sidekiq"

class JavaEnqueuedWorker
  include Sidekiq::Worker

  def perform(*args)
    Sidekiq.redis do |conn|
      conn.hset("test:ruby-args", jid, Sidekiq.dump_json(args))
      conn.sadd("test:ruby-ran", [jid])
    end
  end
end

# Poll the schedule every ~1 s instead of Sidekiq's default (which also waits 10 s before the first poll), so the test
# that schedules a job from Java does not wait long for Ruby's poller to promote it.
if Sidekiq::VERSION.to_i >= 7
  Sidekiq.configure_server do |config|
    config[:poll_interval_average] = 1
    config[:average_scheduled_poll_interval] = 1
  end
else
  Sidekiq.options[:poll_interval_average] = 1
end
