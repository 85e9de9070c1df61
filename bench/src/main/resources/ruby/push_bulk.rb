# Reference for "Redis enqueue-many": Ruby Sidekiq's own bulk push, timed inside Ruby so process start-up is excluded.
# Usage: REDIS_URL=redis://... ruby push_bulk.rb COUNT FILLER BATCH
require "sidekiq"

count = Integer(ARGV[0])
filler = ARGV[1] || ""
batch = Integer(ARGV[2] || "1000")
Sidekiq.configure_client { |c| c.redis = { url: ENV.fetch("REDIS_URL"), size: 1 } }
Sidekiq.redis { |r| r.ping } # connect before the clock starts

t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
i = 0
while i < count
  k = [batch, count - i].min
  Sidekiq::Client.push_bulk("class" => "NoopJob", "queue" => "default",
                            "args" => Array.new(k) { |j| [1_000_000 + i + j, filler] })
  i += k
end
t1 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
puts "elapsed_s=#{t1 - t0}"
