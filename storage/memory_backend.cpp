#include "storage/memory_backend.hpp"

#include "storage/journal_checks.hpp"

#include <algorithm>

namespace courier::storage {

memory_backend::stream_state& memory_backend::touch(const std::string& stream) {
  auto it = streams_.find(stream);
  if (undo_.count(stream) == 0)
    undo_.emplace(stream, it == streams_.end()
                              ? std::nullopt
                              : std::optional<stream_state>(it->second));
  return streams_[stream];
}

core::result<version_t> memory_backend::append(const append_request& req) {
  if (appends_to_fail_ > 0) {
    --appends_to_fail_;
    ++stats_.injected_append_failures;
    return core::make_error(append_failure_code_,
                            "injected append failure on '" + req.stream + "'");
  }
  if (auto ok = check_append_shape(req); !ok)
    return ok.err();
  if (auto ok = check_expected(req.stream, req.expected, version(req.stream));
      !ok)
    return ok.err();
  auto& state = touch(req.stream);
  for (const auto& event : req.events)
    state.events.push_back(event_record{++state.version, event});
  ++stats_.appends;
  stats_.events += req.events.size();
  COURIER_ASSERT(state.version == req.expected + req.events.size());
  return state.version;
}

core::result<core::unit_t> memory_backend::drop(const std::string& stream,
                                                version_t expected) {
  auto it = streams_.find(stream);
  if (it == streams_.end())
    return core::unit; // dropped already (or never written)
  if (expected != any_version)
    if (auto ok = check_expected(stream, expected, it->second.version); !ok)
      return ok;
  touch(stream); // remembered for a rollback
  streams_.erase(stream);
  ++stats_.drops;
  COURIER_ASSERT(version(stream) == 0);
  return core::unit;
}

journal_usage memory_backend::usage() const {
  journal_usage u;
  u.streams = streams_.size();
  u.drops = stats_.drops;
  return u;
}

core::result<core::unit_t> memory_backend::sync() {
  if (fail_sync_) {
    fail_sync_ = false;
    ++stats_.sync_failures;
    drop_unsynced();
    return core::make_error(core::errc::internal, "injected sync failure");
  }
  undo_.clear();
  ++stats_.syncs;
  return core::unit;
}

core::result<recovered_stream>
memory_backend::read(const std::string& stream) {
  recovered_stream out;
  auto it = streams_.find(stream);
  if (it == streams_.end())
    return out;
  out.snapshot = it->second.snapshot;
  out.events = it->second.events;
  out.version = it->second.version;
  return out;
}

core::result<core::unit_t>
memory_backend::save_snapshot(const std::string& stream, version_t version,
                              std::string payload) {
  auto it = streams_.find(stream);
  const bool exists = it != streams_.end();
  std::optional<version_t> latest;
  if (exists && it->second.snapshot)
    latest = it->second.snapshot->version;
  if (auto ok = check_snapshot(stream, version, payload.size(),
                               exists ? it->second.version : 0, latest);
      !ok)
    return ok;
  auto& state = touch(stream);
  auto& events = state.events;
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](const event_record& e) {
                                return e.version <= version;
                              }),
               events.end());
  state.snapshot = snapshot_record{version, std::move(payload)};
  ++stats_.snapshots;
  return core::unit;
}

version_t memory_backend::version(const std::string& stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second.version;
}

std::vector<std::string> memory_backend::streams() const {
  std::vector<std::string> out;
  out.reserve(streams_.size());
  for (const auto& [name, state] : streams_)
    out.push_back(name);
  return out; // std::map iterates in sorted order
}

void memory_backend::fail_next_appends(std::size_t n, core::errc code) {
  COURIER_ASSERT(code != core::errc::none);
  appends_to_fail_ = n;
  append_failure_code_ = code;
}

void memory_backend::fail_next_sync() { fail_sync_ = true; }

void memory_backend::drop_unsynced() {
  for (auto& [name, before] : undo_) {
    if (before)
      streams_[name] = std::move(*before);
    else
      streams_.erase(name);
  }
  undo_.clear();
}

} // namespace courier::storage
