# Loaded by `sidekiq -r ./fleet.rb`: the Ruby half of a mixed fleet. Charge is a class both Ruby and Java know;
# RubyOnly is known to Ruby alone. Each run is counted by jid in test:ruby-ran; a shadow copy reaching Ruby at all is
# recorded in test:ruby-shadow by a server middleware (it must stay empty).
require "crossfade_sidekiq_server" # shared with the other modules' Sidekiq servers (tck SidekiqScripts)

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

# The test starts this server before Ruby joins the fleet (JRuby takes seconds to boot) and sets the key named by
# FLEET_GO when it should join: until then Sidekiq neither registers nor fetches.
if (go = ENV["FLEET_GO"])
  sleep 0.1 until Sidekiq.redis { |conn| conn.get(go) }
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
