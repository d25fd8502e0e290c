// file_backend: compaction. A sealed segment whose live share fell low is
// rewritten in place (same number, so recovery's segment order and every
// stream's record order stay as they were) with only its live records; the
// leading segments left empty are deleted.
#include "storage/file_backend.hpp"

#include "storage/posix_io.hpp"
#include "storage/segment_scan.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

constexpr mode_t compacted_file_mode = 0644;
/// Bytes of live records gathered before one write(2) to the new file.
constexpr std::size_t compaction_write_chunk_bytes = 1024 * 1024;

/// A live record copied to the new file.
struct moved_record {
  std::string stream;
  record_kind kind = record_kind::event;
  bool snapshot = false;
  version_t version = 0;
  record_loc from, to;
};

/// The mapped bytes of a sealed segment, unmapped on scope exit.
class mapped_file {
public:
  mapped_file(int fd, std::uint64_t bytes) : bytes_(bytes) {
    if (bytes > 0)
      data_ = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
  }
  ~mapped_file() {
    if (data_ != MAP_FAILED && data_ != nullptr)
      ::munmap(data_, bytes_);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;
  bool ok() const { return bytes_ == 0 || data_ != MAP_FAILED; }
  std::string_view view() const {
    return bytes_ == 0 ? std::string_view{}
                       : std::string_view(static_cast<const char*>(data_), bytes_);
  }

private:
  std::uint64_t bytes_;
  void* data_ = nullptr;
};

} // namespace

core::result<bool> file_backend::compact() {
  if (auto ok = check_usable(); !ok)
    return ok.err();
  if (pending_bytes_ > 0)
    return false; // the index has unsynced changes a rollback may undo
  segment* best = nullptr;
  double best_share = options_.compact_live_share_max;
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i) { // the last one is active
    auto& seg = segments_[i];
    if (seg.synced_bytes == 0 || seg.fd < 0)
      continue;
    const double share = static_cast<double>(seg.live_bytes) / static_cast<double>(seg.synced_bytes);
    if (share <= best_share) {
      best = &seg;
      best_share = share;
    }
  }
  bool changed = false;
  if (best != nullptr) {
    auto freed = rewrite_segment(*best);
    if (!freed)
      return freed.err();
    ++stats_.compactions;
    stats_.compacted_bytes += *freed;
    changed = true;
  }
  bool deleted = false;
  if (auto ok = delete_leading_empty_segments(deleted); !ok)
    return ok.err();
  return changed || deleted;
}

core::result<std::uint64_t> file_backend::rewrite_segment(segment& seg) {
  const auto path = path_of(seg.number);
  const auto tmp = path + compaction_suffix;
  const auto old_bytes = seg.synced_bytes;
  mapped_file old(seg.fd, old_bytes);
  if (!old.ok())
    return io_error("cannot mmap " + path, errno);
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                         compacted_file_mode);
  if (out < 0)
    return io_error("cannot create " + tmp, errno);
  // Until the rename, a failure leaves the journal as it was.
  const auto abandon = [&](core::error err) -> core::result<std::uint64_t> {
    ::close(out);
    ::unlink(tmp.c_str());
    return err;
  };
  std::vector<moved_record> moves;
  std::string chunk;
  std::uint64_t new_bytes = 0, written = 0;
  const write_fn plain_write; // write(2): compaction has no test seam
  auto scanned = scan_segment(old.view(), [&](const decoded_record& rec,
                                              std::uint64_t offset) -> core::result<core::unit_t> {
    const record_loc at{seg.number, static_cast<std::uint32_t>(rec.bytes), offset};
    const bool snapshot = rec.kind == record_kind::snapshot;
    std::string stream(rec.stream);
    const bool live = rec.kind == record_kind::drop
                          ? tombstone_outlives(tomb_key{at.segment, at.offset}, seg.number)
                          : index_.is_live(stream, snapshot, rec.version, at);
    if (!live)
      return core::unit;
    moves.push_back({std::move(stream), rec.kind, snapshot, rec.version, at,
                     record_loc{seg.number, at.bytes, new_bytes}});
    chunk.append(old.view().substr(offset, rec.bytes));
    new_bytes += rec.bytes;
    if (chunk.size() < compaction_write_chunk_bytes)
      return core::unit;
    auto ok = write_all(out, chunk, plain_write, written, tmp);
    chunk.clear();
    return ok;
  });
  if (!scanned)
    return abandon(scanned.err());
  if (scanned->tail != segment_tail::clean || scanned->good_bytes != old_bytes)
    return abandon(make_error(errc::internal, "journal corrupt: sealed segment " + path +
                                                  " has a bad record at offset " +
                                                  std::to_string(scanned->good_bytes)));
  if (!chunk.empty())
    if (auto ok = write_all(out, chunk, plain_write, written, tmp); !ok)
      return abandon(ok.err());
  if (::fdatasync(out) != 0)
    return abandon(io_error("fdatasync of " + tmp, errno));
  ::close(out);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = io_error("cannot rename " + tmp + " to " + path, errno);
    ::unlink(tmp.c_str());
    return err;
  }
  // From here the new file is the segment: the index must follow it, or
  // the journal stops until a restart recovers from the files.
  const auto unusable = [&](core::error why) -> core::result<std::uint64_t> {
    failed_ = make_error(errc::unavailable, "journal in " + dir_ +
                                                " must be reopened after compaction failed: " +
                                                why.message);
    return *failed_;
  };
  if (::fsync(dir_fd_) != 0)
    return unusable(io_error("cannot fsync journal dir " + dir_, errno));
  ::close(seg.fd);
  seg.fd = -1;
  if (new_bytes > 0) {
    seg.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (seg.fd < 0)
      return unusable(io_error("cannot open " + path, errno));
  }
  seg.synced_bytes = seg.written_bytes = new_bytes;
  seg.live_bytes = new_bytes;
  for (const auto& m : moves) {
    if (m.kind == record_kind::drop) {
      auto node = tombstones_.extract(tomb_key{m.from.segment, m.from.offset});
      COURIER_ASSERT(!node.empty());
      node.key() = tomb_key{m.to.segment, m.to.offset};
      tombstones_.insert(std::move(node));
      continue;
    }
    const bool moved = index_.move_record(m.stream, m.snapshot, m.version, m.from, m.to);
    COURIER_ASSERT(moved); // nothing changed the index since the scan
  }
  forget_segment(seg.number);
  return old_bytes - new_bytes;
}

bool file_backend::tombstone_outlives(tomb_key key, std::uint32_t number) const {
  auto it = tombstones_.find(key);
  if (it == tombstones_.end())
    return false;
  for (auto n : it->second.segments)
    if (n != number)
      return true;
  return false;
}

void file_backend::forget_segment(std::uint32_t number) {
  // O(drop records) once per rewrite (at most one a second), bounded by
  // options_.tombstones_max.
  for (auto it = tombstones_.begin(); it != tombstones_.end();) {
    auto& segs = it->second.segments;
    segs.erase(std::remove(segs.begin(), segs.end(), number), segs.end());
    if (!segs.empty()) {
      ++it;
      continue;
    }
    // It guards nothing now. One in the rewritten segment was not copied;
    // one elsewhere stays on disk as garbage for that segment's rewrite.
    if (it->first.first != number)
      apply_live(it->first.first, -static_cast<std::int64_t>(it->second.bytes));
    it = tombstones_.erase(it);
  }
}

core::result<core::unit_t> file_backend::delete_leading_empty_segments(bool& deleted) {
  deleted = false;
  // Only leading ones: recovery insists the numbers are contiguous, so a
  // missing segment in the middle is noticed as lost.
  while (segments_.size() > 1 && segments_.front().synced_bytes == 0 &&
         segments_.front().pending.empty()) {
    auto& seg = segments_.front();
    const auto path = path_of(seg.number);
    if (seg.fd >= 0)
      ::close(seg.fd);
    seg.fd = -1;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return io_error("cannot remove emptied segment " + path, errno); // tried again next time
    segments_.erase(segments_.begin());
    if (synced_segments_ > 0)
      --synced_segments_;
    ++stats_.segments_deleted;
    deleted = true;
  }
  if (deleted && ::fsync(dir_fd_) != 0)
    return io_error("cannot fsync journal dir " + dir_, errno);
  return core::unit;
}

} // namespace courier::storage
