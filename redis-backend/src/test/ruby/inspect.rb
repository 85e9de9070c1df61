# Prints what Sidekiq's own API (the one its Web UI uses) sees: retry set, dead set, processes, busy work.
#   ruby inspect.rb
require_relative "common"

def entry_fields(e)
  {"jid" => e.jid, "class" => e.klass, "display_class" => e.display_class, "args" => e.args, "queue" => e.queue,
   "error_class" => e["error_class"], "error_message" => e["error_message"], "retry_count" => e["retry_count"],
   "failed_at" => e["failed_at"], "retried_at" => e["retried_at"], "score" => e.score, "at" => e.at.to_f}
end

out = {
  "retry" => Sidekiq::RetrySet.new.map { |e| entry_fields(e) },
  "dead" => Sidekiq::DeadSet.new.map { |e| entry_fields(e) },
  "processes" => Sidekiq::ProcessSet.new.map { |p|
    {"identity" => p.identity, "hostname" => p["hostname"], "pid" => p["pid"], "queues" => p.queues,
     "concurrency" => p["concurrency"], "busy" => p["busy"], "beat" => p["beat"], "quiet" => p["quiet"],
     "labels" => p.labels, "stopping" => p.stopping?}
  },
  "work" => Sidekiq::WorkSet.new.map { |process, tid, work|
    {"process" => process, "tid" => tid, "queue" => work["queue"], "jid" => work["payload"]["jid"],
     "run_at" => work["run_at"]}
  },
  "stats" => {"processed" => Sidekiq::Stats.new.processed, "failed" => Sidekiq::Stats.new.failed},
  "queues" => Sidekiq::Queue.all.map { |q| [q.name, q.size] }.to_h
}
puts JSON.generate(out)
