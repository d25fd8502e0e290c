#pragma once
/// \file
/// The node's table of client sessions, shared by the IO threads (which add,
/// authenticate and remove sessions) and the gateway actor (which looks
/// sessions up to push to them). Thread-safe; bounded by the gateway's
/// sessions_max. Authenticated sessions are also ordered by token expiry,
/// so the once-a-second sweep for expired tokens looks only at those.

#include "actors/protocol.hpp"
#include "nodes/gateway/session.hpp"
#include "nodes/gateway/token_bucket.hpp"
#include "nodes/node/client_link.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

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
  /// It and `authenticated` change only through session_directory's
  /// authenticate / refresh_token / take_expired, which keep the expiry
  /// order in step.
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
  /// Marks a session authenticated as `who`, pushed to in `enc`, until
  /// `expires_ms` (hello). False if the session is gone.
  bool authenticate(std::uint64_t id, const actors::caller& who, encoding enc,
                    core::time_ms expires_ms);
  /// Moves an authenticated session's token expiry (refresh{token}). False
  /// if the session is gone or no longer authenticated.
  bool refresh_token(std::uint64_t id, core::time_ms expires_ms);
  /// The live sessions whose token expired at `now_ms` (expiry <= now), with
  /// their push encoding. Each is no longer authenticated, so it is
  /// returned once. O(expired + log n).
  std::vector<std::pair<gateway::session_ptr, encoding>> take_expired(core::time_ms now_ms);
  /// The live session and its push encoding, for the gateway actor.
  std::optional<std::pair<gateway::session_ptr, encoding>> find(std::uint64_t id) const;
  std::size_t size() const;
  /// Sessions in the expiry order: exactly the authenticated ones.
  std::size_t expiries_size() const;

private:
  /// Takes the entry out of the expiry order if it is in it.
  void unorder_locked(std::uint64_t id, const session_entry& e);

  mutable std::mutex mtx_;
  std::unordered_map<std::uint64_t, session_entry> entries_;
  /// (token_expires_ms, id) of every authenticated session, soonest first;
  /// one element per such session.
  std::set<std::pair<core::time_ms, std::uint64_t>> by_expiry_;
};

} // namespace courier::node
