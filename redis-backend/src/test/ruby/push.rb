# Pushes jobs the way a Rails app does and prints their jids as JSON:
#   ruby push.rb <class> <count> [<queue>] [<delay seconds>]
require_relative "common"

klass, count, queue, delay = ARGV[0], Integer(ARGV[1]), ARGV[2] || "default", ARGV[3]
items = (0...count).map { |i| {"class" => klass, "queue" => queue, "args" => [i, "ruby-#{i}", {"nested" => [1.5, nil, true]}]} }
jids =
  if delay
    items.map { |item| Sidekiq::Client.push(item.merge("at" => Time.now.to_f + Float(delay))) }
  else
    Sidekiq::Client.push_bulk("class" => klass, "queue" => queue, "args" => items.map { |i| i["args"] })
  end
puts JSON.generate(jids)
