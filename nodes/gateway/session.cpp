#include "nodes/gateway/session.hpp"

#include <functional>

namespace courier::gateway {

std::string_view to_string(transport t) noexcept {
  return t == transport::ws ? "ws" : "tcp";
}

delivery delivery::latest(std::string key) {
  delivery d;
  d.hash_ = std::hash<std::string>{}(key);
  d.key_ = std::make_shared<const std::string>(std::move(key));
  return d;
}

const std::string& delivery::key() const noexcept {
  static const std::string none;
  return key_ != nullptr ? *key_ : none;
}

bool delivery::same_key(const delivery& other) const noexcept {
  if (key_ == nullptr || other.key_ == nullptr)
    return false;
  // A fan-out passes one delivery to every session: usually the same storage.
  return key_ == other.key_ || (hash_ == other.hash_ && *key_ == *other.key_);
}

} // namespace courier::gateway
