# One long-lived Ruby process answering the interop tests' questions, so a test class pays Ruby's start-up (seconds on
# JRuby) once. Reads one JSON command per line on stdin, answers one JSON line on stdout:
#   {"cmd": "inspect"} | {"cmd": "push", "class": ..., "count": n} | {"cmd": "push_nasty", "class": ...}
#   {"cmd": "fail_in_ruby", "class": ..., "arg": ...} | {"cmd": "kill_in_ruby", "class": ..., "arg": ...} | {"cmd": "web", "path": "/busy"} | {"cmd": "quiet", "identity": ...}
#   {"cmd": "retry_all"} | {"cmd": "dead_retry_all"} | {"cmd": "metrics"}
require_relative "lib"
require "securerandom"
require "sidekiq/web"
require "rack/mock" rescue require "rack/mock_request"

# Arguments a Ruby app may well send: floats, a bignum, unicode and NUL, deep hashes, nil.
NASTY = [
  1.5, 0.1, -2.5e-8, 1.0e20, 2**70, -(2**64), 0, nil, true, false, "",
  "ünïcödé ✓ 日本語 🎉", "nul\u0000inside", "quote\" backslash\\ newline\n tab\t",
  {"deep" => {"er" => {"est" => [1, [2, [3, {"x" => nil}]]]}}}, [], {}
].freeze

def web(path)
  env = {"rack.session" => {}, "HTTP_HOST" => "localhost"}
  res = Rack::MockRequest.new(Sidekiq::Web.new).get(path, env)
  {"status" => res.status, "body" => res.body}
end

def handle(c)
  case c["cmd"]
  when "inspect" then Interop.inspect_all
  when "push" then Interop.push(c["class"], c["count"], c["queue"] || "default", c["delay"])
  when "push_nasty"
    jid = Sidekiq::Client.push("class" => c["class"], "args" => NASTY)
    {"jid" => jid, "args" => Sidekiq.dump_json(NASTY)}
  when "push_active_job"
    # What Active Job's Sidekiq adapter pushes for WelcomeJob.perform_later(user, "hi", {"plan" => "pro"}, locale: :fr)
    # (Rails 7.2/8: ActiveJob::Core#serialize, ActiveJob::Arguments), built here since the kits carry no Rails.
    data = {"job_class" => "WelcomeJob", "job_id" => SecureRandom.uuid, "provider_job_id" => nil,
            "queue_name" => "default", "priority" => nil,
            "arguments" => [{"_aj_globalid" => "gid://shop/User/42"}, "hi", {"plan" => "pro", "_aj_symbol_keys" => []},
              {"locale" => {"_aj_serialized" => "ActiveJob::Serializers::SymbolSerializer", "value" => "fr"},
               "_aj_ruby2_keywords" => ["locale"]}],
            "executions" => 0, "exception_executions" => {}, "locale" => "en", "timezone" => "UTC",
            "enqueued_at" => Time.now.utc.strftime("%Y-%m-%dT%H:%M:%S.%9NZ"), "scheduled_at" => nil}
    Sidekiq::Client.push("class" => c["wrapper"], "wrapped" => "WelcomeJob", "queue" => "default", "args" => [data])
  when "queued_view"
    Sidekiq::Queue.new(c["queue"] || "default").map { |j|
      {"jid" => j.jid, "klass" => j.klass, "display_class" => j.display_class, "display_args" => j.display_args,
       "item" => j.item}
    }
  when "fail_in_ruby" then Interop.fail_in_ruby(c["class"], c["arg"])
  when "kill_in_ruby" then Interop.kill_in_ruby(c["class"], c["arg"])
  when "web" then web(c["path"])
  when "quiet"
    p = Sidekiq::ProcessSet.new.find { |x| x.identity == c["identity"] } or raise("no process #{c["identity"]}")
    p.quiet!
    true
  when "retry_all" then Sidekiq::RetrySet.new.retry_all; true
  when "dead_retry_all" then Sidekiq::DeadSet.new.each(&:retry); true
  when "metrics"
    require "sidekiq/metrics/query"
    Sidekiq::Metrics::Query.new.top_jobs.job_results.transform_values { |r| r.totals }
  else raise "unknown command #{c["cmd"]}"
  end
end

$stdout.sync = true
puts JSON.generate({"ready" => Sidekiq::VERSION})
$stdin.each_line do |line|
  begin
    puts JSON.generate({"ok" => handle(JSON.parse(line))})
  rescue Exception => e # rubocop:disable Lint/RescueException
    puts JSON.generate({"error" => "#{e.class}: #{e.message}", "at" => e.backtrace&.first(5)})
  end
end
