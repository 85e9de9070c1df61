# Reference for "one Redis call per job": a Sidekiq 6.4 worker that does what crossfade.Ledger does, one HINCRBY.
# Usage: REDIS_URL=redis://... sidekiq -r ./ledger.rb -c 10 -q default
require "sidekiq"

Sidekiq.configure_server { |c| c.logger.level = Logger::WARN }

class LedgerJob
  include Sidekiq::Worker

  def perform(*_args)
    Sidekiq.redis { |r| r.hincrby("crossfade:ledger", jid, 1) }
  end
end
