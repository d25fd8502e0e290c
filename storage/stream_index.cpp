#include "storage/stream_index.hpp"

#include "core/assert.hpp"

#include <algorithm>

namespace courier::storage {

const stream_entry* stream_index::find(const std::string& stream) const {
  auto it = streams_.find(stream);
  return it == streams_.end() ? nullptr : &it->second;
}

version_t stream_index::version(const std::string& stream) const {
  const auto* entry = find(stream);
  return entry ? entry->version : 0;
}

stream_entry& stream_index::touch(const std::string& stream) {
  auto [it, inserted] = streams_.try_emplace(stream);
  if (undo_.count(stream) == 0) {
    // First change in this batch: remember the entry without copying its
    // event list (appends only grow it; a snapshot saves it, see below).
    undo_entry undo;
    undo.existed = !inserted;
    undo.before.version = it->second.version;
    undo.before.snapshot = it->second.snapshot;
    undo.events_before = it->second.events.size();
    undo_.emplace(stream, std::move(undo));
  }
  return it->second;
}

void stream_index::add_event(const std::string& stream, version_t version,
                             record_loc loc) {
  auto& entry = touch(stream);
  COURIER_ASSERT(version == entry.version + 1);
  entry.events.push_back(loc);
  entry.version = version;
}

void stream_index::add_snapshot(const std::string& stream, version_t version,
                                record_loc loc) {
  auto& entry = touch(stream);
  COURIER_ASSERT(loc.bytes > 0); // bytes == 0 marks "no snapshot"
  COURIER_ASSERT(version <= entry.version);
  COURIER_ASSERT(!entry.has_snapshot() || version >= entry.snapshot_version());
  const version_t first_listed = entry.version - entry.events.size() + 1;
  COURIER_ASSERT(version + 1 >= first_listed);
  save_events_for_undo(stream, entry);
  const auto covered = static_cast<std::ptrdiff_t>(version + 1 - first_listed);
  entry.events.erase(entry.events.begin(), entry.events.begin() + covered);
  entry.snapshot = loc;
  COURIER_ASSERT(entry.snapshot_version() == version);
}

void stream_index::save_events_for_undo(const std::string& stream,
                                        const stream_entry& entry) {
  auto& undo = undo_.at(stream);
  if (!undo.events_saved) {
    // The change drops events; keep the list as of the last commit.
    undo.before.events.assign(entry.events.begin(),
                              entry.events.begin() + undo.events_before);
    undo.events_saved = true;
  }
}

void stream_index::erase(const std::string& stream) {
  auto& entry = touch(stream);
  save_events_for_undo(stream, entry);
  streams_.erase(stream);
  COURIER_ASSERT(find(stream) == nullptr);
}

void stream_index::restart_at(const std::string& stream, version_t version,
                              record_loc loc) {
  auto& entry = touch(stream);
  COURIER_ASSERT(version > entry.version + 1);
  save_events_for_undo(stream, entry);
  entry.events.assign(1, loc);
  entry.snapshot = record_loc{};
  entry.version = version;
}

void stream_index::jump_to_snapshot(const std::string& stream, version_t version,
                                    record_loc loc) {
  auto& entry = touch(stream);
  COURIER_ASSERT(loc.bytes > 0);
  COURIER_ASSERT(version > entry.version);
  save_events_for_undo(stream, entry);
  entry.events.clear();
  entry.snapshot = loc;
  entry.version = version;
}

const record_loc* stream_index::locate(const std::string& stream, bool snapshot,
                                       version_t version) const {
  const auto* entry = find(stream);
  if (entry == nullptr)
    return nullptr;
  if (snapshot)
    return entry->has_snapshot() && entry->snapshot_version() == version ? &entry->snapshot
                                                                         : nullptr;
  const version_t first = entry->version - entry->events.size() + 1;
  if (version < first || version > entry->version)
    return nullptr;
  return &entry->events[version - first];
}

bool stream_index::is_live(const std::string& stream, bool snapshot, version_t version,
                           record_loc at) const {
  const auto* loc = locate(stream, snapshot, version);
  return loc != nullptr && *loc == at;
}

bool stream_index::move_record(const std::string& stream, bool snapshot, version_t version,
                               record_loc from, record_loc to) {
  COURIER_ASSERT(undo_.empty());
  auto* loc = const_cast<record_loc*>(locate(stream, snapshot, version));
  if (loc == nullptr || !(*loc == from))
    return false;
  *loc = to;
  return true;
}

void stream_index::commit() { undo_.clear(); }

void stream_index::rollback() {
  for (auto& [name, undo] : undo_) {
    if (!undo.existed) {
      streams_.erase(name);
      continue;
    }
    auto& entry = streams_[name]; // re-created if the batch dropped it
    entry.version = undo.before.version;
    entry.snapshot = undo.before.snapshot;
    if (undo.events_saved)
      entry.events = std::move(undo.before.events);
    else
      entry.events.resize(undo.events_before);
    COURIER_ASSERT(entry.events.size() <= entry.version);
    COURIER_ASSERT(entry.has_snapshot() || entry.events.size() == entry.version);
  }
  undo_.clear();
}

std::vector<std::string> stream_index::names() const {
  std::vector<std::string> out;
  out.reserve(streams_.size());
  for (const auto& [name, entry] : streams_)
    out.push_back(name);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace courier::storage
