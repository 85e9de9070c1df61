# Shared setup for the interop scripts: real Ruby Sidekiq (Debian's 6.4 on MRI, or 8.x on JRuby from the sidekiq8
# kit) pointed at the test Redis via REDIS_URL.
require "json"
begin
  require "redis"
  # The Debian redis gem (4.8) warns about APIs Sidekiq 6.4 still uses; the warnings are noise here.
  Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)
rescue LoadError
  # Sidekiq 7 and 8 use redis-client instead.
end
require "sidekiq"
require "sidekiq/api"

Sidekiq.configure_client do |config|
  config.redis = {url: ENV.fetch("REDIS_URL")}
end
Sidekiq.logger.level = Logger::WARN
SIDEKIQ_MAJOR = Sidekiq::VERSION.to_i
