# Shared setup for the interop scripts: real Ruby Sidekiq pointed at the test Redis via REDIS_URL.
require "json"
require "redis"
# The Debian redis gem (4.8) warns about APIs Sidekiq 6.4 still uses; the warnings are noise here.
Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
require "sidekiq"
require "sidekiq/api"

Sidekiq.configure_client do |config|
  config.redis = {url: ENV.fetch("REDIS_URL")}
end
Sidekiq.logger.level = Logger::WARN
