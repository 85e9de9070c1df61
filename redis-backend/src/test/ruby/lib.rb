# What the interop scripts and the session do, as functions of Sidekiq's own client and API.
require_relative "common"
require "sidekiq/job_retry"
require "sidekiq/capsule" if SIDEKIQ_MAJOR >= 7

module Interop
  module_function

  # Pushes jobs the way a Rails app does; returns their jids.
  def push(klass, count, queue = "default", delay = nil)
    items = (0...count).map { |i| {"class" => klass, "queue" => queue, "args" => [i, "ruby-#{i}", {"nested" => [1.5, nil, true]}]} }
    if delay
      items.map { |item| Sidekiq::Client.push(item.merge("at" => Time.now.to_f + Float(delay))) }
    else
      Sidekiq::Client.push_bulk("class" => klass, "queue" => queue, "args" => items.map { |i| i["args"] })
    end
  end

  # Makes Ruby Sidekiq's own retry code write a retry entry (as a failing Ruby worker would), due now; returns the jid.
  def fail_in_ruby(klass, arg)
    jid = Sidekiq::Client.push("class" => klass, "args" => [arg], "queue" => "default")
    payload = Sidekiq.redis { |c| c.rpop("queue:default") }
    retrier = SIDEKIQ_MAJOR >= 7 ? Sidekiq::JobRetry.new(Sidekiq.default_configuration.default_capsule) :
      Sidekiq::JobRetry.new(Sidekiq.options)
    begin
      retrier.global(payload, "default") { raise ArgumentError, "boom in ruby" }
    rescue Sidekiq::JobRetry::Handled
      # Sidekiq raises Handled after writing the retry; the processor would swallow it.
    end
    entry = Sidekiq::RetrySet.new.find_job(jid) or raise("Ruby did not write a retry entry for #{jid}")
    entry.reschedule(Time.now.to_f)
    jid
  end

  # A job Ruby Sidekiq's own code failed and then moved to the dead set (as Sidekiq Web's Kill button does);
  # returns the jid.
  def kill_in_ruby(klass, arg)
    jid = fail_in_ruby(klass, arg)
    Sidekiq::RetrySet.new.find_job(jid).kill
    Sidekiq::DeadSet.new.find_job(jid) or raise("Ruby did not move #{jid} to the dead set")
    jid
  end

  def entry_fields(e)
    {"jid" => e.jid, "class" => e.klass, "display_class" => e.display_class, "args" => e.args, "queue" => e.queue,
     "error_class" => e["error_class"], "error_message" => e["error_message"], "retry_count" => e["retry_count"],
     "failed_at" => e["failed_at"], "retried_at" => e["retried_at"], "score" => e.score, "at" => e.at.to_f}
  end

  # What Sidekiq's own API (the one its Web UI uses) sees: retry set, dead set, processes, busy work.
  def inspect_all
    {
      "version" => Sidekiq::VERSION,
      "retry" => Sidekiq::RetrySet.new.map { |e| entry_fields(e) },
      "dead" => Sidekiq::DeadSet.new.map { |e| entry_fields(e) },
      "processes" => Sidekiq::ProcessSet.new.map { |p|
        {"identity" => p.identity, "hostname" => p["hostname"], "pid" => p["pid"], "queues" => p.queues,
         "concurrency" => p["concurrency"], "busy" => p["busy"], "beat" => p["beat"], "quiet" => p["quiet"],
         "labels" => p.labels, "stopping" => p.stopping?, "capsules" => p["capsules"]}
      },
      "work" => Sidekiq::WorkSet.new.map { |process, tid, work|
        # Sidekiq 6 yields a Hash, 7 and 8 a Sidekiq::Work.
        job, queue, run_at = work.is_a?(Hash) ? [work["payload"], work["queue"], work["run_at"]] :
          [work.job.item, work.queue, work.run_at.to_i]
        {"process" => process, "tid" => tid, "queue" => queue, "jid" => job["jid"], "class" => job["class"],
         "run_at" => run_at}
      },
      "stats" => {"processed" => Sidekiq::Stats.new.processed, "failed" => Sidekiq::Stats.new.failed},
      "queues" => Sidekiq::Queue.all.map { |q| [q.name, q.size] }.to_h
    }
  end
end
