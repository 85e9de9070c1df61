# Makes Ruby Sidekiq's own retry code write a retry entry (as a failing Ruby worker would), then makes it due now.
#   ruby fail_in_ruby.rb <class> <arg>   -> prints the jid
require_relative "lib"
puts JSON.generate(Interop.fail_in_ruby(ARGV[0], ARGV[1]))
