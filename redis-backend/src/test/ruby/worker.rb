# Loaded by `sidekiq -r ./worker.rb`: a Ruby worker for jobs enqueued from Java. Records each run by jid, with its
# args, so the Java test can check what Ruby received.
require "redis"
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
require "sidekiq"

class JavaEnqueuedWorker
  include Sidekiq::Worker

  def perform(*args)
    Sidekiq.redis do |conn|
      conn.hset("test:ruby-args", jid, Sidekiq.dump_json(args))
      conn.sadd("test:ruby-ran", jid)
    end
  end
end

# Poll the schedule every ~1 s instead of Sidekiq's default (which also waits 10 s before the first poll), so the test
# that schedules a job from Java does not wait long for Ruby's poller to promote it.
Sidekiq.options[:poll_interval_average] = 1
