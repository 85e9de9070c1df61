# One long-lived Ruby process answering the interop tests' questions, so a test class pays Ruby's start-up (seconds on
# JRuby) once. Reads one JSON command per line on stdin, answers one JSON line on stdout:
#   {"cmd": "inspect"} | {"cmd": "push", "class": ..., "count": n} | {"cmd": "push_nasty", "class": ...}
#   {"cmd": "fail_in_ruby", "class": ..., "arg": ...} | {"cmd": "web", "path": "/busy"} | {"cmd": "quiet", "identity": ...}
#   {"cmd": "retry_all"} | {"cmd": "dead_retry_all"} | {"cmd": "metrics"}
require_relative "lib"
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
  when "fail_in_ruby" then Interop.fail_in_ruby(c["class"], c["arg"])
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
