# Reference for "Redis processing": a Sidekiq 6.4 worker that does nothing, logging at WARN so logging costs nothing.
# Usage: REDIS_URL=redis://... sidekiq -r ./noop.rb -c 10 -q default
require "sidekiq"

Sidekiq.configure_server { |c| c.logger.level = Logger::WARN }

class NoopJob
  include Sidekiq::Worker

  def perform(*_args); end
end
