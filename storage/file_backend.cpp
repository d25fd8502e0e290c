// file_backend: append, snapshot, group commit and reads. Opening and
// recovery live in file_backend_open.cpp.
#include "storage/file_backend.hpp"

#include "core/limits.hpp"
#include "storage/journal_checks.hpp"
#include "storage/posix_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace courier::storage {
namespace {
using core::errc;
using core::make_error;
constexpr mode_t segment_file_mode = 0644;
} // namespace

core::result<core::unit_t> file_backend::check_usable() const {
  if (failed_)
    return *failed_;
  return core::unit;
}

core::result<core::unit_t>
file_backend::check_capacity(const append_request& req, std::size_t bytes) const {
  const auto* entry = index_.find(req.stream);
  if (entry == nullptr && index_.size() >= options_.streams_max)
    return make_error(errc::overloaded,
                      "journal holds " + std::to_string(index_.size()) +
                          " streams, limit " +
                          std::to_string(options_.streams_max));
  const std::size_t since = entry ? entry->events.size() : 0;
  if (since + req.events.size() > options_.events_since_snapshot_max)
    return make_error(errc::overloaded,
                      "journal stream '" + req.stream + "' has " +
                          std::to_string(since) +
                          " events since its snapshot, limit " +
                          std::to_string(options_.events_since_snapshot_max) +
                          "; save a snapshot");
  // The first request of a batch is always taken, however large, so a
  // single maximal append can never be refused forever.
  if (pending_bytes_ > 0 && pending_bytes_ + bytes > options_.pending_bytes_max)
    return make_error(errc::overloaded,
                      "journal batch holds " + std::to_string(pending_bytes_) +
                          " unsynced bytes, limit " +
                          std::to_string(options_.pending_bytes_max) +
                          "; sync() first");
  return core::unit;
}

record_loc file_backend::place(record_kind kind, const std::string& stream,
                               version_t version, const std::string& payload) {
  const std::size_t bytes = record_bytes(stream.size(), payload.size());
  if (segments_.back().logical_bytes() > 0 &&
      segments_.back().logical_bytes() + bytes > options_.segment_bytes_max)
    segments_.push_back(segment{segments_.back().number + 1});
  auto& seg = segments_.back();
  const record_loc loc{seg.number, static_cast<std::uint32_t>(bytes),
                       seg.logical_bytes()};
  encode_record(seg.pending, kind, stream, version, payload);
  pending_bytes_ += bytes;
  note_live(seg.number, static_cast<std::int64_t>(bytes));
  COURIER_ASSERT(seg.logical_bytes() == loc.offset + bytes);
  return loc;
}

core::result<version_t> file_backend::append(const append_request& req) {
  if (auto ok = check_usable(); !ok)
    return ok.err();
  if (auto ok = check_append_shape(req); !ok)
    return ok.err();
  if (auto ok = check_expected(req.stream, req.expected,
                               index_.version(req.stream));
      !ok)
    return ok.err();
  std::size_t bytes = 0;
  for (const auto& event : req.events)
    bytes += record_bytes(req.stream.size(), event.size());
  if (auto ok = check_capacity(req, bytes); !ok)
    return ok.err();
  version_t version = req.expected;
  for (const auto& event : req.events) {
    ++version;
    index_.add_event(req.stream, version,
                     place(record_kind::event, req.stream, version, event));
  }
  ++stats_.appends;
  stats_.events += req.events.size();
  COURIER_ASSERT(index_.version(req.stream) == req.expected + req.events.size());
  return version;
}

core::result<core::unit_t> file_backend::save_snapshot(const std::string& stream,
                                                       version_t version,
                                                       std::string payload) {
  if (auto ok = check_usable(); !ok)
    return ok;
  const auto* entry = index_.find(stream);
  std::optional<version_t> latest;
  if (entry && entry->has_snapshot())
    latest = entry->snapshot_version();
  if (auto ok = check_snapshot(stream, version, payload.size(),
                               entry ? entry->version : 0, latest);
      !ok)
    return ok;
  if (entry == nullptr && index_.size() >= options_.streams_max)
    return make_error(errc::overloaded, "journal holds " +
                                            std::to_string(index_.size()) +
                                            " streams, limit reached");
  const std::size_t bytes = record_bytes(stream.size(), payload.size());
  if (pending_bytes_ > 0 && pending_bytes_ + bytes > options_.pending_bytes_max)
    return make_error(errc::overloaded, "journal batch is full; sync() first");
  drop_covered(stream, version);
  index_.add_snapshot(stream, version,
                      place(record_kind::snapshot, stream, version, payload));
  ++stats_.snapshots;
  return core::unit;
}

std::vector<std::uint32_t> file_backend::segments_holding(const stream_entry& entry) const {
  std::vector<std::uint32_t> out;
  if (entry.has_snapshot())
    for (auto n = segments_.front().number; n <= entry.snapshot.segment; ++n)
      out.push_back(n);
  for (const auto& loc : entry.events)
    out.push_back(loc.segment);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

core::result<core::unit_t> file_backend::drop(const std::string& stream,
                                              version_t expected) {
  if (auto ok = check_usable(); !ok)
    return ok;
  const auto* entry = index_.find(stream);
  if (entry == nullptr)
    return core::unit; // dropped already, or never written
  if (expected != any_version)
    if (auto ok = check_expected(stream, expected, entry->version); !ok)
      return ok;
  if (tombstones_.size() + pending_tombstones_.size() >= options_.tombstones_max)
    return make_error(errc::overloaded,
                      "journal holds " + std::to_string(tombstones_.size()) +
                          " drop records whose streams are not compacted yet, limit " +
                          std::to_string(options_.tombstones_max));
  const std::size_t bytes = record_bytes(stream.size(), 0);
  if (pending_bytes_ > 0 && pending_bytes_ + bytes > options_.pending_bytes_max)
    return make_error(errc::overloaded, "journal batch is full; sync() first");
  const version_t version = entry->version;
  auto holding = segments_holding(*entry);
  drop_covered(stream, version); // every record of it is garbage now
  index_.erase(stream);
  const auto loc = place(record_kind::drop, stream, version, {});
  pending_tombstones_.emplace_back(tomb_key{loc.segment, loc.offset},
                                   tombstone{stream, loc.bytes, std::move(holding)});
  ++stats_.drops;
  COURIER_ASSERT(index_.find(stream) == nullptr);
  return core::unit;
}

core::result<core::unit_t> file_backend::sync() {
  if (auto ok = check_usable(); !ok)
    return ok;
  if (pending_bytes_ == 0)
    return core::unit; // nothing appended since the last sync
  if (auto ok = write_batch(); !ok) {
    ++stats_.sync_failures;
    rollback();
    return ok;
  }
  for (auto& seg : segments_) {
    COURIER_ASSERT(seg.pending.empty());
    seg.synced_bytes = seg.written_bytes;
  }
  synced_segments_ = segments_.size();
  for (auto& [number, delta] : pending_live_)
    apply_live(number, delta);
  pending_live_.clear();
  for (auto& [key, tomb] : pending_tombstones_)
    tombstones_[key] = std::move(tomb);
  pending_tombstones_.clear();
  index_.commit();
  ++stats_.syncs;
  stats_.bytes_synced += pending_bytes_;
  pending_bytes_ = 0;
  return core::unit;
}

core::result<core::unit_t> file_backend::write_batch() {
  // Only the last synced segment and the ones rolled since can be dirty.
  // Each is made durable before the next file is created, so after a crash
  // only the last segment can end in a torn record.
  const std::size_t first = synced_segments_ == 0 ? 0 : synced_segments_ - 1;
  for (std::size_t i = first; i < segments_.size(); ++i) {
    auto& seg = segments_[i];
    if (seg.pending.empty())
      continue;
    if (seg.fd < 0)
      if (auto ok = create_segment_file(seg); !ok)
        return ok;
    if (auto ok = flush_segment(seg); !ok)
      return ok;
  }
  return core::unit;
}

core::result<core::unit_t> file_backend::create_segment_file(segment& seg) {
  const auto path = path_of(seg.number);
  seg.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
                  segment_file_mode);
  if (seg.fd < 0)
    return io_error("cannot create journal segment " + path, errno);
  // The new name must be durable too, or a synced segment could vanish.
  if (::fsync(dir_fd_) != 0)
    return io_error("cannot fsync journal dir " + dir_, errno);
  return core::unit;
}

core::result<core::unit_t> file_backend::flush_segment(segment& seg) {
  const auto path = path_of(seg.number);
  if (auto ok = write_all(seg.fd, seg.pending, options_.io.write,
                          seg.written_bytes, path);
      !ok)
    return ok;
  seg.pending.clear();
  const int rc = options_.io.fdatasync ? options_.io.fdatasync(seg.fd)
                                       : ::fdatasync(seg.fd);
  if (rc != 0)
    return io_error("fdatasync of " + path, errno);
  return core::unit;
}

void file_backend::rollback() {
  pending_bytes_ = 0;
  pending_live_.clear();
  pending_tombstones_.clear(); // the index brings their streams back
  const auto fail = [this](const core::error& why) {
    failed_ = make_error(errc::unavailable,
                         "journal in " + dir_ +
                             " cannot roll back a failed sync and must be "
                             "reopened: " + why.message);
  };
  while (segments_.size() > synced_segments_) {
    auto& seg = segments_.back();
    if (seg.fd >= 0) {
      ::close(seg.fd);
      const auto path = path_of(seg.number);
      if (::unlink(path.c_str()) != 0)
        fail(io_error("cannot remove " + path, errno));
    }
    segments_.pop_back();
  }
  if (segments_.empty()) {
    segments_.push_back(segment{1});
  } else {
    auto& last = segments_.back();
    last.pending.clear();
    // Truncate even if written_bytes says nothing landed: a failed write
    // may still have left bytes behind.
    if (last.fd >= 0 &&
        ::ftruncate(last.fd, static_cast<off_t>(last.synced_bytes)) != 0)
      fail(io_error("cannot truncate " + path_of(last.number), errno));
    last.written_bytes = last.synced_bytes;
  }
  index_.rollback();
}

file_backend::segment* file_backend::segment_of(std::uint32_t number) {
  if (segments_.empty() || number < segments_.front().number ||
      number - segments_.front().number >= segments_.size())
    return nullptr;
  return &segments_[number - segments_.front().number];
}

void file_backend::apply_live(std::uint32_t number, std::int64_t delta) {
  auto* seg = segment_of(number);
  COURIER_ASSERT(seg != nullptr);
  COURIER_ASSERT(delta >= 0 || seg->live_bytes >= static_cast<std::uint64_t>(-delta));
  seg->live_bytes = static_cast<std::uint64_t>(static_cast<std::int64_t>(seg->live_bytes) + delta);
}

void file_backend::note_live(std::uint32_t number, std::int64_t delta) {
  if (recovering_)
    apply_live(number, delta);
  else
    pending_live_.emplace_back(number, delta);
}

void file_backend::drop_covered(const std::string& stream, version_t version) {
  const auto* entry = index_.find(stream);
  if (entry == nullptr)
    return;
  if (entry->has_snapshot())
    note_live(entry->snapshot.segment, -static_cast<std::int64_t>(entry->snapshot.bytes));
  const version_t first = entry->version - entry->events.size() + 1;
  for (version_t v = first; v <= version && v <= entry->version; ++v) {
    const auto& loc = entry->events[v - first];
    note_live(loc.segment, -static_cast<std::int64_t>(loc.bytes));
  }
}

journal_usage file_backend::usage() const {
  journal_usage u;
  for (const auto& seg : segments_) {
    u.bytes += seg.synced_bytes;
    u.live_bytes += seg.live_bytes;
    if (seg.fd >= 0)
      ++u.open_files;
  }
  u.segments = segments_.size();
  u.streams = index_.size();
  u.streams_max = options_.streams_max;
  u.compactions = stats_.compactions;
  u.compacted_bytes = stats_.compacted_bytes;
  u.drops = stats_.drops;
  u.tombstones = tombstones_.size();
  u.tombstones_max = options_.tombstones_max;
  return u;
}

core::result<std::string> file_backend::load_record(const record_loc& loc) const {
  COURIER_ASSERT(loc.segment >= segments_.front().number);
  const auto& seg = segments_.at(loc.segment - segments_.front().number);
  std::string bytes(loc.bytes, '\0');
  if (loc.offset >= seg.written_bytes) {
    // Appended but not yet written: serve it from the batch.
    const auto at = static_cast<std::size_t>(loc.offset - seg.written_bytes);
    COURIER_ASSERT(at + loc.bytes <= seg.pending.size());
    bytes.assign(seg.pending, at, loc.bytes);
    return bytes;
  }
  COURIER_ASSERT(loc.offset + loc.bytes <= seg.written_bytes);
  if (auto ok = pread_all(seg.fd, bytes.data(), bytes.size(), loc.offset,
                          path_of(seg.number));
      !ok)
    return ok.err();
  return bytes;
}

core::result<std::string> file_backend::load_checked(const record_loc& loc,
                                                     record_kind kind,
                                                     const std::string& stream,
                                                     version_t version) const {
  auto bytes = load_record(loc);
  if (!bytes)
    return bytes.err();
  const auto rec = decode_record(*bytes);
  // The same properties recovery checked, checked again where consumed.
  if (rec.status != decode_status::ok || rec.kind != kind ||
      rec.stream != stream || rec.version != version)
    return make_error(errc::internal,
                      "journal record of '" + stream + "' version " +
                          std::to_string(version) + " in " +
                          path_of(loc.segment) + " at offset " +
                          std::to_string(loc.offset) + " is damaged");
  return std::string(rec.payload);
}

core::result<recovered_stream> file_backend::read(const std::string& stream) {
  if (auto ok = check_usable(); !ok)
    return ok.err();
  recovered_stream out;
  const auto* entry = index_.find(stream);
  if (entry == nullptr)
    return out;
  out.version = entry->version;
  if (entry->has_snapshot()) {
    auto payload = load_checked(entry->snapshot, record_kind::snapshot, stream,
                                entry->snapshot_version());
    if (!payload)
      return payload.err();
    out.snapshot = snapshot_record{entry->snapshot_version(), std::move(*payload)};
  }
  version_t version = entry->version - entry->events.size();
  out.events.reserve(entry->events.size());
  for (const auto& loc : entry->events) {
    ++version;
    auto payload = load_checked(loc, record_kind::event, stream, version);
    if (!payload)
      return payload.err();
    out.events.push_back(event_record{version, std::move(*payload)});
  }
  return out;
}

version_t file_backend::version(const std::string& stream) const {
  return index_.version(stream);
}

std::vector<std::string> file_backend::streams() const { return index_.names(); }

} // namespace courier::storage
