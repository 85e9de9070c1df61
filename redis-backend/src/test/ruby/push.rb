# Pushes jobs the way a Rails app does and prints their jids as JSON:
#   ruby push.rb <class> <count> [<queue>] [<delay seconds>]
require_relative "lib"
puts JSON.generate(Interop.push(ARGV[0], Integer(ARGV[1]), ARGV[2] || "default", ARGV[3]))
