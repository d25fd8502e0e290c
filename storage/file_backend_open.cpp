#include "storage/file_backend.hpp"

#include "storage/posix_io.hpp"
#include "storage/segment_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

constexpr const char* lock_file_name = "LOCK";
constexpr const char* segment_prefix = "journal-";
constexpr const char* segment_suffix = ".log";
/// Segment numbers are printed with this many digits (more are accepted).
constexpr int segment_number_digits = 6;
/// Longest number we parse from a segment file name (fits u32).
constexpr std::size_t segment_number_chars_max = 9;
constexpr mode_t file_mode = 0644;
constexpr mode_t dir_mode = 0755;

/// The segment number in `name`, or 0 if it is not a segment file.
std::uint32_t parse_segment_number(const std::string& name) {
  const std::string prefix = segment_prefix, suffix = segment_suffix;
  if (name.size() <= prefix.size() + suffix.size() ||
      name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return 0;
  const auto digits = name.substr(prefix.size(),
                                  name.size() - prefix.size() - suffix.size());
  if (digits.size() > segment_number_chars_max ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  return static_cast<std::uint32_t>(std::stoul(digits));
}

core::result<std::vector<std::uint32_t>> list_segments(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return io_error("cannot list journal dir " + dir, errno);
  std::vector<std::uint32_t> numbers;
  while (const dirent* entry = ::readdir(d))
    if (auto n = parse_segment_number(entry->d_name); n != 0)
      numbers.push_back(n);
  ::closedir(d);
  std::sort(numbers.begin(), numbers.end());
  for (std::size_t i = 1; i < numbers.size(); ++i)
    if (numbers[i] != numbers[0] + i)
      return make_error(errc::internal,
                        "journal dir " + dir + " is missing segment " +
                            file_backend::segment_file_name(numbers[0] + i));
  return numbers;
}

/// A compaction's new segment, written beside the old one; a leftover is
/// from a crash before the rename and is not part of the journal.
bool is_compaction_file(const std::string& name) {
  const std::string suffix = std::string(segment_suffix) + file_backend::compaction_suffix;
  return name.size() > suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
         name.compare(0, std::string(segment_prefix).size(), segment_prefix) == 0;
}

void remove_compaction_leftovers(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return; // list_segments reports it
  std::vector<std::string> leftovers;
  while (const dirent* entry = ::readdir(d))
    if (is_compaction_file(entry->d_name))
      leftovers.emplace_back(entry->d_name);
  ::closedir(d);
  for (const auto& name : leftovers) {
    const auto path = dir + "/" + name;
    if (::unlink(path.c_str()) == 0)
      std::fprintf(stderr, "courier journal: removed %s (a compaction cut short)\n",
                   path.c_str());
  }
}

} // namespace

std::string file_backend::segment_file_name(std::uint32_t number) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "%0*u", segment_number_digits, number);
  return std::string(segment_prefix) + digits + segment_suffix;
}

std::string file_backend::path_of(std::uint32_t number) const {
  return dir_ + "/" + segment_file_name(number);
}

file_backend::file_backend(std::string dir, file_backend_options options)
    : dir_(std::move(dir)), options_(std::move(options)) {}

file_backend::~file_backend() {
  for (auto& seg : segments_)
    if (seg.fd >= 0)
      ::close(seg.fd);
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
  if (lock_fd_ >= 0)
    ::close(lock_fd_); // releases the flock
}

core::result<std::unique_ptr<file_backend>>
file_backend::open(const std::string& dir, file_backend_options options) {
  if (dir.empty() || options.segment_bytes_max == 0 ||
      options.pending_bytes_max == 0)
    return make_error(errc::bad_request,
                      "file_backend needs a dir and non-zero size limits");
  std::unique_ptr<file_backend> backend(new file_backend(dir, std::move(options)));
  if (auto ok = backend->lock_and_recover(); !ok)
    return ok.err();
  return backend;
}

core::result<core::unit_t> file_backend::lock_and_recover() {
  if (::mkdir(dir_.c_str(), dir_mode) != 0 && errno != EEXIST)
    return io_error("cannot create journal dir " + dir_, errno);
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    return io_error("cannot open journal dir " + dir_, errno);
  const std::string lock_path = dir_ + "/" + lock_file_name;
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, file_mode);
  if (lock_fd_ < 0)
    return io_error("cannot open " + lock_path, errno);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(errc::unavailable,
                        "journal dir " + dir_ + " is in use by another " +
                            "journal (" + lock_path + " is locked)");
    return io_error("cannot lock " + lock_path, errno);
  }
  remove_compaction_leftovers(dir_);
  auto numbers = list_segments(dir_);
  if (!numbers)
    return numbers.err();
  recovering_ = true;
  for (std::size_t i = 0; i < numbers->size(); ++i) {
    segment seg;
    seg.number = (*numbers)[i];
    const auto path = path_of(seg.number);
    seg.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (seg.fd < 0)
      return io_error("cannot open " + path, errno);
    segments_.push_back(std::move(seg));
    if (auto ok = recover_segment(segments_.back(), i + 1 == numbers->size()); !ok)
      return ok;
    index_.commit();
  }
  recovering_ = false;
  if (auto ok = check_gaps_covered(); !ok)
    return ok;
  synced_segments_ = segments_.size();
  if (segments_.empty())
    segments_.push_back(segment{1});
  return core::unit;
}

core::result<core::unit_t> file_backend::check_gaps_covered() const {
  // Compaction drops only what a snapshot covers, so a gap no snapshot
  // covers is lost data.
  for (const auto& [stream, needed] : uncovered_)
    return make_error(errc::internal,
                      "journal corrupt: stream '" + stream + "' goes on at version " +
                          std::to_string(needed + 1) + " but misses the events before it, " +
                          "and no snapshot covers them");
  return core::unit;
}

core::result<core::unit_t> file_backend::recover_segment(segment& seg,
                                                         bool is_last) {
  const auto path = path_of(seg.number);
  struct stat st {};
  if (::fstat(seg.fd, &st) != 0)
    return io_error("cannot stat " + path, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0)
    return core::unit;
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, seg.fd, 0);
  if (map == MAP_FAILED)
    return io_error("cannot mmap " + path, errno);
  auto scanned = scan_segment(
      std::string_view(static_cast<const char*>(map), size),
      [&](const decoded_record& rec, std::uint64_t offset) {
        return index_record(rec, seg, offset);
      });
  ::munmap(map, size);
  if (!scanned)
    return scanned.err();
  const auto good = scanned->good_bytes;
  const auto where = path + " at offset " + std::to_string(good);
  if (scanned->tail == segment_tail::corrupt)
    return make_error(errc::internal, "journal corrupt: bad record in " +
                                          where + ", followed by valid records");
  if (scanned->tail == segment_tail::torn && !is_last)
    return make_error(errc::internal, "journal corrupt: bad record in " + where +
                                          " of a segment that is not the last");
  if (scanned->tail == segment_tail::torn) {
    // A write cut short by a crash: never acknowledged, so it is dropped.
    if (::ftruncate(seg.fd, static_cast<off_t>(good)) != 0)
      return io_error("cannot cut torn tail of " + path, errno);
    if (::fdatasync(seg.fd) != 0)
      return io_error("cannot fdatasync " + path, errno);
    std::fprintf(stderr, "courier journal: cut %llu torn bytes from %s\n",
                 static_cast<unsigned long long>(size - good), where.c_str());
    stats_.recovered_cut_bytes += size - good;
  }
  seg.synced_bytes = seg.written_bytes = good;
  return core::unit;
}

core::result<core::unit_t> file_backend::index_record(const decoded_record& rec,
                                                      const segment& seg,
                                                      std::uint64_t offset) {
  const std::string stream(rec.stream);
  const record_loc loc{seg.number, static_cast<std::uint32_t>(rec.bytes), offset};
  const auto* entry = index_.find(stream);
  const version_t current = entry ? entry->version : 0;
  const auto where = [&] {
    return path_of(seg.number) + " at offset " + std::to_string(offset) +
           ": stream '" + stream + "' is at version " + std::to_string(current);
  };
  if (rec.kind == record_kind::drop) {
    // Nothing of the stream before it: every older record was compacted
    // away, and the drop record is garbage (not live, not kept).
    if (entry == nullptr)
      return core::unit;
    auto holding = segments_holding(*entry);
    drop_covered(stream, current);
    index_.erase(stream);
    uncovered_.erase(stream); // a gap in a dropped stream loses nothing
    note_live(seg.number, static_cast<std::int64_t>(loc.bytes));
    tombstones_[tomb_key{loc.segment, loc.offset}] = tombstone{stream, loc.bytes,
                                                               std::move(holding)};
    return core::unit;
  }
  if (rec.kind == record_kind::event) {
    if (rec.version <= current)
      return make_error(errc::internal, "journal corrupt: " + where() +
                                            " but the next event has version " +
                                            std::to_string(rec.version));
    if (rec.version > current + 1) {
      // Events before it were compacted away: a later snapshot must cover
      // them (checked once every segment is read).
      drop_covered(stream, current);
      index_.restart_at(stream, rec.version, loc);
      uncovered_[stream] = rec.version - 1;
    } else {
      index_.add_event(stream, rec.version, loc);
    }
    note_live(seg.number, static_cast<std::int64_t>(loc.bytes));
    return core::unit;
  }
  const version_t listed_from = entry ? entry->version - entry->events.size() : 0;
  if (entry && rec.version < listed_from)
    return make_error(errc::internal, "journal corrupt: " + where() +
                                          " but has a snapshot at version " +
                                          std::to_string(rec.version) + ", before " +
                                          std::to_string(listed_from));
  drop_covered(stream, rec.version);
  if (rec.version > current) // the events up to it were compacted away
    index_.jump_to_snapshot(stream, rec.version, loc);
  else
    index_.add_snapshot(stream, rec.version, loc);
  note_live(seg.number, static_cast<std::int64_t>(loc.bytes));
  if (auto it = uncovered_.find(stream); it != uncovered_.end() && rec.version >= it->second)
    uncovered_.erase(it);
  return core::unit;
}

} // namespace courier::storage
