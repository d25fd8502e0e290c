#include "nodes/node/rest_limits.hpp"

#include "core/limits.hpp"

namespace courier::node {

bool valid_path_id(std::string_view id) {
  if (id.empty() || id.size() > core::limits::id_chars_max)
    return false;
  for (unsigned char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == ':' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

rest_limiter::rest_limiter(rest_limits_config cfg, const core::clock& clock)
    : cfg_(cfg), clock_(clock) {}

bool rest_limiter::take(table& t, const std::string& key, std::uint32_t rate,
                        std::uint32_t burst) {
  auto now = clock_.now_ms();
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = t.find(key);
  if (it == t.end()) {
    if (t.size() >= cfg_.callers_max) {
      for (auto i = t.begin(); i != t.end();)
        i = now - i->second.last_ms >= cfg_.idle_forget_ms ? t.erase(i) : std::next(i);
      if (t.size() >= cfg_.callers_max) {
        ++limited_total_;
        return false; // every tracked caller is active: no room for another
      }
    }
    it = t.emplace(key, entry{gateway::token_bucket{rate, burst, now}, now}).first;
  }
  it->second.last_ms = now;
  if (it->second.bucket.try_take(now))
    return true;
  ++limited_total_;
  return false;
}

bool rest_limiter::allow_address(std::string_view remote_address) {
  // The port changes per connection: the limit is per host.
  auto host = remote_address;
  if (auto colon = host.rfind(':'); colon != std::string_view::npos)
    host = host.substr(0, colon);
  return take(by_address_, std::string{host}, cfg_.per_address_per_s, cfg_.per_address_burst);
}

bool rest_limiter::allow_subject(const std::string& subject) {
  return take(by_subject_, subject, cfg_.per_subject_per_s, cfg_.per_subject_burst);
}

std::uint64_t rest_limiter::limited_total() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return limited_total_;
}

} // namespace courier::node
