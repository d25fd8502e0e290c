#pragma once
/// \file
/// The node's table of client sessions, shared by the IO threads (which add,
/// authenticate and remove sessions) and the gateway actor (which looks
/// sessions up to push to them). Thread-safe; bounded by the gateway's
/// sessions_max.

#include "actors/protocol.hpp"
#include "nodes/gateway/session.hpp"
#include "nodes/gateway/token_bucket.hpp"
#include "nodes/node/client_link.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace courier::node {

/// What the node knows of one client connection.
struct session_entry {
  std::weak_ptr<gateway::session> session;
  encoding enc = encoding::json;
  bool authenticated = false;
  actors::caller who;
  gateway::token_bucket bucket;
  std::shared_ptr<std::atomic<std::uint32_t>> in_flight =
      std::make_shared<std::atomic<std::uint32_t>>(0);
  /// When the session's token (from hello or the last refresh) expires.
  core::time_ms token_expires_ms = 0;
};

class session_directory {
public:
  void add(std::uint64_t id, session_entry entry);
  void remove(std::uint64_t id);
  /// Runs `f(session_entry&)` under the lock if the session is known.
  template <class F>
  bool with(std::uint64_t id, F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    auto it = entries_.find(id);
    if (it == entries_.end())
      return false;
    f(it->second);
    return true;
  }
  /// Calls `f(session_entry&)` under the lock for every session.
  template <class F>
  void for_each(F&& f) {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& kv : entries_)
      f(kv.second);
  }
  /// The live session and its push encoding, for the gateway actor.
  std::optional<std::pair<gateway::session_ptr, encoding>> find(std::uint64_t id) const;
  std::size_t size() const;

private:
  mutable std::mutex mtx_;
  std::unordered_map<std::uint64_t, session_entry> entries_;
};

} // namespace courier::node
