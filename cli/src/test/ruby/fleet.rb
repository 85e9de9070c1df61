# Loaded by `sidekiq -r ./fleet.rb`: the Ruby half of a mixed fleet. Charge is a class both Ruby and Java know;
# RubyOnly is known to Ruby alone. Each run is counted by jid in test:ruby-ran; a shadow copy reaching Ruby at all is
# recorded in test:ruby-shadow by a server middleware (it must stay empty).
begin
  require "redis"
  Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
rescue LoadError
  # Sidekiq 7 and 8 use redis-client.
end
require "sidekiq"

module Counted
  def perform(*_args)
    Sidekiq.redis { |conn| conn.hincrby("test:ruby-ran", jid, 1) }
  end
end

class Charge
  include Sidekiq::Worker
  include Counted
end

class RubyOnly
  include Sidekiq::Worker
  include Counted
end

class SeesShadow
  def call(_worker, job, _queue)
    Sidekiq.redis { |conn| conn.sadd("test:ruby-shadow", [job["jid"]]) } if job["shadow"]
    yield
  end
end

Sidekiq.configure_server do |config|
  config.logger.level = Logger::WARN
  config.server_middleware { |chain| chain.add SeesShadow }
end

# Poll the retry set every ~1 s rather than Sidekiq's default, so retries come back promptly.
if Sidekiq::VERSION.to_i >= 7
  Sidekiq.configure_server do |config|
    config[:poll_interval_average] = 1
    config[:average_scheduled_poll_interval] = 1
  end
else
  Sidekiq.options[:poll_interval_average] = 1
end
