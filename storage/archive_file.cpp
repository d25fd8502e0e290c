#include "storage/archive_file.hpp"

#include "core/assert.hpp"
#include "storage/posix_io.hpp"
#include "storage/record_format.hpp"
#include "storage/segment_scan.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <functional>
#include <string_view>

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

constexpr mode_t file_mode = 0644;
constexpr mode_t dir_mode = 0755;
constexpr std::int64_t day_ms = 24LL * 3600 * 1000;
constexpr const char* prefix = "archive-";
constexpr const char* suffix = ".log";
/// An archive segment's offsets are 32-bit.
constexpr std::uint64_t segment_bytes_limit = 0xFFFFFFFFull;

/// The index needs no stable hash (it is rebuilt at every open), only a
/// good spread.
std::uint64_t hash_of(std::string_view key) { return std::hash<std::string_view>{}(key); }

/// Archive segment numbers in `dir`, ascending.
core::result<std::vector<std::uint32_t>> list_numbers(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return io_error("cannot list archive dir " + dir, errno);
  std::vector<std::uint32_t> out;
  const std::string pre = prefix, suf = suffix;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != pre.size() + 6 + suf.size() || name.compare(0, pre.size(), pre) != 0 ||
        name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
      continue;
    auto digits = name.substr(pre.size(), 6);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    out.push_back(static_cast<std::uint32_t>(std::stoul(digits)));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

template <class Slot>
bool by_hash(const Slot& a, const Slot& b) {
  return a.hash < b.hash;
}

} // namespace

file_archive::file_archive(std::string dir, file_archive_options options)
    : dir_(std::move(dir)), options_(options) {}

file_archive::~file_archive() {
  for (auto& seg : segments_)
    if (seg.fd >= 0)
      ::close(seg.fd);
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
}

std::string file_archive::path_of(std::uint32_t number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%s%06u%s", prefix, number, suffix);
  return dir_ + "/" + name;
}

core::result<std::unique_ptr<file_archive>> file_archive::open(const std::string& dir,
                                                               file_archive_options options) {
  if (dir.empty() || options.segment_bytes_max == 0 ||
      options.segment_bytes_max > segment_bytes_limit || options.entries_max == 0)
    return make_error(errc::bad_request, "file_archive needs a dir and sane limits");
  std::unique_ptr<file_archive> a(new file_archive(dir, options));
  if (auto ok = a->recover(); !ok)
    return ok.err();
  return a;
}

core::result<core::unit_t> file_archive::recover() {
  if (::mkdir(dir_.c_str(), dir_mode) != 0 && errno != EEXIST)
    return io_error("cannot create archive dir " + dir_, errno);
  dir_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0)
    return io_error("cannot open archive dir " + dir_, errno);
  auto numbers = list_numbers(dir_);
  if (!numbers)
    return numbers.err();
  for (auto n : *numbers) {
    segment seg;
    seg.number = n;
    seg.fd = ::open(path_of(n).c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
    if (seg.fd < 0)
      return io_error("cannot open " + path_of(n), errno);
    segments_.push_back(std::move(seg));
    if (auto ok = recover_segment(segments_.back()); !ok)
      return ok;
  }
  if (segments_.empty())
    segments_.push_back(segment{1});
  return core::unit;
}

core::result<core::unit_t> file_archive::recover_segment(segment& seg) {
  const auto path = path_of(seg.number);
  struct stat st {};
  if (::fstat(seg.fd, &st) != 0)
    return io_error("cannot stat " + path, errno);
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > 0) {
    void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, seg.fd, 0);
    if (map == MAP_FAILED)
      return io_error("cannot mmap " + path, errno);
    auto scanned = scan_segment(
        std::string_view(static_cast<const char*>(map), size),
        [&](const decoded_record& rec, std::uint64_t offset) -> core::result<core::unit_t> {
          seg.sealed.push_back({hash_of(rec.stream), static_cast<std::uint32_t>(offset),
                                static_cast<std::uint32_t>(rec.bytes)});
          auto at = static_cast<core::time_ms>(rec.version);
          seg.newest_ms = std::max(seg.newest_ms, at);
          if (seg.day < 0)
            seg.day = at / day_ms;
          return core::unit;
        });
    ::munmap(map, size);
    if (!scanned)
      return scanned.err();
    if (scanned->good_bytes < size) {
      // A read view, not the source of truth: keep what is intact rather
      // than refuse to start (the journal still holds anything not dropped).
      if (::ftruncate(seg.fd, static_cast<off_t>(scanned->good_bytes)) != 0)
        return io_error("cannot cut the damaged tail of " + path, errno);
      std::fprintf(stderr, "courier archive: cut %llu bad bytes from %s at offset %llu\n",
                   static_cast<unsigned long long>(size - scanned->good_bytes), path.c_str(),
                   static_cast<unsigned long long>(scanned->good_bytes));
      cut_bytes_ += size - scanned->good_bytes;
    }
    seg.synced_bytes = scanned->good_bytes;
  }
  std::sort(seg.sealed.begin(), seg.sealed.end(), by_hash<slot>);
  return core::unit;
}

std::uint64_t file_archive::entries() const {
  std::uint64_t n = 0;
  for (const auto& seg : segments_)
    n += seg.entries() + seg.unsynced.size();
  return n;
}

void file_archive::seal(segment& seg) {
  for (auto& [hash, s] : seg.recent)
    seg.sealed.push_back(s);
  seg.recent = {};
  std::sort(seg.sealed.begin(), seg.sealed.end(), by_hash<slot>);
}

core::result<core::unit_t> file_archive::put(const std::string& key, const std::string& payload,
                                             core::time_ms now_ms) {
  if (key.empty() || key.size() > stream_name_bytes_max)
    return make_error(errc::bad_request, "archive key must be 1.." +
                                             std::to_string(stream_name_bytes_max) + " bytes");
  const auto bytes = record_bytes(key.size(), payload.size());
  if (bytes > record_bytes_max(record_kind::event))
    return make_error(errc::bad_request, "archive entry of '" + key + "' is too large");
  if (entries() >= options_.entries_max)
    return make_error(errc::overloaded, "archive holds " + std::to_string(entries()) +
                                            " entries, limit " +
                                            std::to_string(options_.entries_max));
  auto* seg = &segments_.back();
  const auto used = seg->synced_bytes + seg->pending.size();
  const bool new_day = seg->day >= 0 && now_ms / day_ms != seg->day;
  if (used > 0 && (used + bytes > options_.segment_bytes_max || new_day)) {
    segments_.push_back(segment{seg->number + 1});
    seg = &segments_.back();
  }
  const auto offset = seg->synced_bytes + seg->pending.size();
  encode_record(seg->pending, record_kind::event, key, static_cast<version_t>(now_ms), payload);
  seg->unsynced.push_back({hash_of(key), static_cast<std::uint32_t>(offset),
                           static_cast<std::uint32_t>(bytes)});
  seg->newest_ms = std::max(seg->newest_ms, now_ms);
  if (seg->day < 0)
    seg->day = now_ms / day_ms;
  return core::unit;
}

core::result<core::unit_t> file_archive::create_file(segment& seg) {
  const auto path = path_of(seg.number);
  seg.fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, file_mode);
  if (seg.fd < 0)
    return io_error("cannot create archive segment " + path, errno);
  if (::fsync(dir_fd_) != 0)
    return io_error("cannot fsync archive dir " + dir_, errno);
  return core::unit;
}

core::result<core::unit_t> file_archive::sync() {
  core::result<core::unit_t> outcome = core::unit;
  for (auto& seg : segments_) {
    if (seg.pending.empty())
      continue;
    if (outcome && seg.fd < 0)
      outcome = create_file(seg);
    std::uint64_t written = 0;
    if (outcome)
      outcome = write_all(seg.fd, seg.pending, {}, written, path_of(seg.number));
    if (outcome && ::fdatasync(seg.fd) != 0)
      outcome = io_error("fdatasync of " + path_of(seg.number), errno);
    if (!outcome) {
      // Roll back: nothing of this batch is readable or counted.
      if (seg.fd >= 0 && ::ftruncate(seg.fd, static_cast<off_t>(seg.synced_bytes)) != 0)
        std::fprintf(stderr, "courier archive: cannot truncate %s\n",
                     path_of(seg.number).c_str());
      seg.pending.clear();
      seg.unsynced.clear();
      continue;
    }
    seg.synced_bytes += seg.pending.size();
    seg.pending.clear();
    for (const auto& s : seg.unsynced)
      seg.recent.emplace(s.hash, s);
    puts_ += seg.unsynced.size();
    seg.unsynced.clear();
  }
  // A segment that no longer takes puts keeps its index compact.
  for (std::size_t i = 0; i + 1 < segments_.size(); ++i)
    if (!segments_[i].recent.empty())
      seal(segments_[i]);
  return outcome;
}

core::result<std::optional<std::string>> file_archive::read_slot(const segment& seg,
                                                                 const slot& s,
                                                                 const std::string& key) const {
  COURIER_ASSERT(s.offset + static_cast<std::uint64_t>(s.bytes) <= seg.synced_bytes);
  std::string bytes(s.bytes, '\0');
  if (auto ok = pread_all(seg.fd, bytes.data(), bytes.size(), s.offset, path_of(seg.number)); !ok)
    return ok.err();
  auto rec = decode_record(bytes);
  if (rec.status != decode_status::ok)
    return make_error(errc::internal, "archive record in " + path_of(seg.number) +
                                          " at offset " + std::to_string(s.offset) +
                                          " is damaged");
  if (rec.stream != key)
    return std::optional<std::string>{}; // another key with the same hash
  return std::optional<std::string>{std::string(rec.payload)};
}

core::result<std::optional<std::string>> file_archive::get(const std::string& key) {
  const auto h = hash_of(key);
  // Newest first (segments from the last, entries from the highest
  // offset): a key archived twice (a crash before its drop) reads its
  // latest entry.
  std::vector<slot> candidates;
  for (auto it = segments_.rbegin(); it != segments_.rend(); ++it) {
    const auto& seg = *it;
    candidates.clear();
    auto [lo, hi] = seg.recent.equal_range(h);
    for (auto r = lo; r != hi; ++r)
      candidates.push_back(r->second);
    auto range = std::equal_range(seg.sealed.begin(), seg.sealed.end(), slot{h, 0, 0},
                                  by_hash<slot>);
    candidates.insert(candidates.end(), range.first, range.second);
    std::sort(candidates.begin(), candidates.end(),
              [](const slot& a, const slot& b) { return a.offset > b.offset; });
    for (const auto& c : candidates) {
      auto found = read_slot(seg, c, key);
      if (!found || *found)
        return found;
    }
  }
  return std::optional<std::string>{};
}

core::result<std::uint64_t> file_archive::expire(core::time_ms now_ms) {
  if (segments_.size() < 2)
    return std::uint64_t{0}; // the last segment takes puts
  auto& oldest = segments_.front();
  if (oldest.newest_ms + options_.retention.count() > now_ms)
    return std::uint64_t{0};
  const auto path = path_of(oldest.number);
  if (oldest.fd >= 0)
    ::close(oldest.fd);
  oldest.fd = -1;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return io_error("cannot remove expired archive segment " + path, errno);
  const auto gone = oldest.entries();
  expired_ += gone;
  segments_.erase(segments_.begin());
  if (::fsync(dir_fd_) != 0)
    return io_error("cannot fsync archive dir " + dir_, errno);
  return gone;
}

archive_usage file_archive::usage() const {
  archive_usage u;
  for (const auto& seg : segments_) {
    u.entries += seg.entries();
    u.bytes += seg.synced_bytes;
    u.index_bytes += seg.sealed.capacity() * sizeof(slot) + seg.recent.size() * 64;
  }
  u.entries_max = options_.entries_max;
  u.segments = segments_.size();
  u.puts = puts_;
  u.expired = expired_;
  return u;
}

} // namespace courier::storage
