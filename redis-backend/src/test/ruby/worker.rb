# Loaded by `sidekiq -r ./worker.rb`: a Ruby worker for jobs enqueued from Java. Records each run by jid, with its
# args, so the Java test can check what Ruby received.
require "crossfade_sidekiq_server" # shared with the other modules' Sidekiq servers (tck SidekiqScripts)

class JavaEnqueuedWorker
  include Sidekiq::Worker

  def perform(*args)
    Sidekiq.redis do |conn|
      conn.hset("test:ruby-args", jid, Sidekiq.dump_json(args))
      conn.sadd("test:ruby-ran", [jid])
    end
  end
end
