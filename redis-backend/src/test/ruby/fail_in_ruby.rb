# Makes Ruby Sidekiq's own retry code write a retry entry (as a failing Ruby worker would), then makes it due now.
#   ruby fail_in_ruby.rb <class> <arg>   -> prints the jid
require_relative "common"
require "sidekiq/job_retry"

jid = Sidekiq::Client.push("class" => ARGV[0], "args" => [ARGV[1]], "queue" => "default")
payload = Sidekiq.redis { |c| c.rpop("queue:default") }
begin
  Sidekiq::JobRetry.new(Sidekiq.options).global(payload, "default") { raise ArgumentError, "boom in ruby" }
rescue Sidekiq::JobRetry::Handled
  # Sidekiq raises Handled after writing the retry; the processor would swallow it.
end
entry = Sidekiq::RetrySet.new.find_job(jid) or abort("Ruby did not write a retry entry for #{jid}")
entry.reschedule(Time.now.to_f)
puts JSON.generate(jid)
