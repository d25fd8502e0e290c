#include "nodes/node/sessions.hpp"

namespace courier::node {

void session_directory::add(std::uint64_t id, session_entry entry) {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.insert_or_assign(id, std::move(entry));
}

void session_directory::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  entries_.erase(id);
}

std::optional<std::pair<gateway::session_ptr, encoding>>
session_directory::find(std::uint64_t id) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end())
    return std::nullopt;
  auto s = it->second.session.lock();
  if (!s)
    return std::nullopt;
  return std::make_pair(std::move(s), it->second.enc);
}

std::size_t session_directory::size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return entries_.size();
}

} // namespace courier::node
