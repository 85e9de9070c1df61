# Prints what Sidekiq's own API (the one its Web UI uses) sees: retry set, dead set, processes, busy work.
#   ruby inspect.rb
require_relative "lib"
puts JSON.generate(Interop.inspect_all)
