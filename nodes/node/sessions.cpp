#include "nodes/node/sessions.hpp"

#include "core/assert.hpp"

namespace courier::node {

void session_directory::unorder_locked(std::uint64_t id, const session_entry& e) {
  if (e.authenticated) {
    auto n = by_expiry_.erase({e.token_expires_ms, id});
    COURIER_ASSERT(n == 1);
  }
}

void session_directory::add(std::uint64_t id, session_entry entry) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto it = entries_.find(id); it != entries_.end())
    unorder_locked(id, it->second);
  if (entry.authenticated)
    by_expiry_.emplace(entry.token_expires_ms, id);
  entries_.insert_or_assign(id, std::move(entry));
  COURIER_ASSERT(by_expiry_.size() <= entries_.size());
}

void session_directory::remove(std::uint64_t id) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end())
    return;
  unorder_locked(id, it->second);
  entries_.erase(it);
  COURIER_ASSERT(by_expiry_.size() <= entries_.size());
}

bool session_directory::authenticate(std::uint64_t id, const actors::caller& who,
                                     encoding enc, core::time_ms expires_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end())
    return false;
  auto& e = it->second;
  unorder_locked(id, e);
  e.authenticated = true;
  e.who = who;
  e.enc = enc;
  e.token_expires_ms = expires_ms;
  by_expiry_.emplace(expires_ms, id);
  COURIER_ASSERT(by_expiry_.size() <= entries_.size());
  return true;
}

bool session_directory::refresh_token(std::uint64_t id, core::time_ms expires_ms) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.authenticated)
    return false; // told it expired meanwhile: it is being closed
  unorder_locked(id, it->second);
  it->second.token_expires_ms = expires_ms;
  by_expiry_.emplace(expires_ms, id);
  return true;
}

std::vector<std::pair<gateway::session_ptr, encoding>>
session_directory::take_expired(core::time_ms now_ms) {
  std::vector<std::pair<gateway::session_ptr, encoding>> expired;
  std::lock_guard<std::mutex> guard{mtx_};
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now_ms) {
    auto [at, id] = *by_expiry_.begin();
    by_expiry_.erase(by_expiry_.begin());
    auto it = entries_.find(id);
    COURIER_ASSERT(it != entries_.end()); // remove() takes it out of the order
    auto& e = it->second;
    COURIER_ASSERT(e.authenticated);
    COURIER_ASSERT(e.token_expires_ms == at);
    e.authenticated = false; // told once; nothing more is served meanwhile
    if (auto s = e.session.lock())
      expired.emplace_back(std::move(s), e.enc);
  }
  return expired;
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

std::size_t session_directory::expiries_size() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return by_expiry_.size();
}

} // namespace courier::node
