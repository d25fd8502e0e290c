#include "storage/archive.hpp"

namespace courier::storage {

core::result<core::unit_t> memory_archive::put(const std::string& key,
                                               const std::string& payload, core::time_ms) {
  pending_.emplace_back(key, payload);
  return core::unit;
}

core::result<core::unit_t> memory_archive::sync() {
  if (fail_sync_) {
    fail_sync_ = false;
    pending_.clear();
    return core::error{core::errc::internal, "injected archive sync failure"};
  }
  for (auto& [key, payload] : pending_) {
    entries_[key] = std::move(payload);
    ++puts_;
  }
  pending_.clear();
  return core::unit;
}

core::result<std::optional<std::string>> memory_archive::get(const std::string& key) {
  auto it = entries_.find(key);
  if (it == entries_.end())
    return std::optional<std::string>{};
  return std::optional<std::string>{it->second};
}

archive_usage memory_archive::usage() const {
  archive_usage u;
  u.entries = entries_.size();
  u.puts = puts_;
  return u;
}

} // namespace courier::storage
