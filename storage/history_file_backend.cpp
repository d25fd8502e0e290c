#include "storage/history_file_backend.hpp"

#include "core/assert.hpp"
#include "storage/history_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

namespace courier::storage {
namespace {

constexpr const char* prefix_of(history_detail d) {
  return d == history_detail::raw ? "raw-" : "min-";
}

/// A run is usually read with one pread of this many bytes (header, rider
/// id and a flush's few samples); a longer one takes a second read.
constexpr std::size_t run_read_bytes = 512;
/// Unsealed segments are scanned at open in chunks of this many bytes.
constexpr std::size_t scan_chunk_bytes = 1 << 20;

std::uint64_t file_size(int fd) {
  struct stat st{};
  return ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

std::uint64_t file_size_of(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

/// "raw-123.seg.idx" -> (raw, 123, ".seg.idx"); false for any other name.
bool parse_name(const std::string& name, history_detail& d, std::int64_t& hour,
                std::string& ext) {
  for (auto det : {history_detail::raw, history_detail::minute}) {
    std::string prefix = prefix_of(det);
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    auto dot = name.find('.', prefix.size());
    if (dot == std::string::npos || dot == prefix.size() || dot - prefix.size() > 12)
      return false;
    std::int64_t h = 0;
    for (auto i = prefix.size(); i < dot; ++i) {
      if (name[i] < '0' || name[i] > '9')
        return false;
      h = h * 10 + (name[i] - '0');
    }
    d = det;
    hour = h;
    ext = name.substr(dot);
    return true;
  }
  return false;
}

} // namespace

history_file_backend::history_file_backend(std::string dir, history_limits limits)
    : dir_(std::move(dir)), limits_(limits) {}

history_file_backend::~history_file_backend() {
  abort_compaction(0);
  for (auto& [key, seg] : segments_)
    if (seg.fd >= 0)
      ::close(seg.fd);
}

std::string history_file_backend::segment_path(history_detail d, std::int64_t hour) const {
  return dir_ + "/" + prefix_of(d) + std::to_string(hour) + ".seg";
}

core::result<std::unique_ptr<history_file_backend>>
history_file_backend::open(std::string dir, history_limits limits) {
  if (auto ok = validate(limits); !ok)
    return ok.err();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return core::error{core::errc::internal,
                       "cannot create history dir " + dir + ": " + ec.message()};
  std::unique_ptr<history_file_backend> b(new history_file_backend(std::move(dir), limits));
  if (auto ok = b->load(); !ok)
    return ok.err();
  return b;
}

core::result<core::unit_t> history_file_backend::load() {
  std::error_code ec;
  std::set<segment_key> segs, indexes;
  for (auto it = std::filesystem::directory_iterator(dir_, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    history_detail d{};
    std::int64_t hour = 0;
    std::string ext;
    if (!parse_name(name, d, hour, ext))
      continue; // not ours: left alone
    segment_key key{static_cast<std::uint8_t>(d), hour};
    if (ext == ".seg") {
      segs.insert(key);
    } else if (ext == ".seg.idx") {
      indexes.insert(key);
    } else if (ext == ".seg.idx.tmp" || ext == ".seg.compact") { // a seal or compaction cut short
      std::error_code ignored;
      std::filesystem::remove(it->path(), ignored);
    }
  }
  if (ec)
    return core::error{core::errc::internal, "cannot list history dir " + dir_ + ": " +
                                                 ec.message()};
  for (auto& key : indexes) // an index whose segment retention already deleted
    if (!segs.count(key))
      std::remove(
          (segment_path(static_cast<history_detail>(key.first), key.second) + ".idx").c_str());
  for (auto& key : segs)
    load_segment(key, segment_path(static_cast<history_detail>(key.first), key.second),
                 indexes.count(key) > 0);
  return core::unit;
}

void history_file_backend::load_segment(segment_key key, const std::string& path,
                                        bool has_index) {
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    std::fprintf(stderr, "courier-node: history: cannot open %s: %s (skipped)\n",
                 path.c_str(), std::strerror(errno));
    return;
  }
  segment seg;
  seg.bytes = file_size(fd);
  if (has_index) {
    auto idx_path = path + ".idx";
    int ifd = ::open(idx_path.c_str(), O_RDONLY | O_CLOEXEC);
    char h[history_index_header_bytes];
    history_index_header header;
    bool good = ifd >= 0 &&
                pread_all(ifd, h, sizeof h, 0, idx_path).ok() &&
                decode_history_index_header(h, header) &&
                header.segment_bytes == seg.bytes &&
                file_size(ifd) == history_index_header_bytes +
                                      std::uint64_t{header.entries} * history_index_entry_bytes;
    if (ifd >= 0)
      ::close(ifd);
    if (good) {
      ::close(fd);
      seg.sealed = true;
      seg.compacted = header.compacted;
      seg.samples = header.samples;
      seg.index_bytes = file_size_of(idx_path);
      segments_.emplace(key, std::move(seg));
      return;
    }
    std::remove(idx_path.c_str());
    stats_.index_rebuilds += 1;
  }
  seg.fd = fd;
  scan_segment(seg, path);
  segments_.emplace(key, std::move(seg));
}

void history_file_backend::scan_segment(segment& seg, const std::string& path) {
  std::string buf;
  std::uint64_t buf_at = 0; // file offset of buf[0]
  std::uint64_t offset = 0; // the next run
  bool eof = false;
  while (true) {
    auto view = std::string_view{buf}.substr(static_cast<std::size_t>(offset - buf_at));
    auto run = decode_history_run(view);
    if (run.status == history_decode::incomplete && !eof) {
      // Keep the unread tail, then read the next chunk after it.
      buf.erase(0, static_cast<std::size_t>(offset - buf_at));
      buf_at = offset;
      auto have = buf.size();
      auto want = std::min<std::uint64_t>(scan_chunk_bytes, seg.bytes - buf_at - have);
      if (want == 0) {
        eof = true;
        continue;
      }
      buf.resize(have + want);
      if (!pread_all(seg.fd, buf.data() + have, want, buf_at + have, path).ok()) {
        buf.resize(have);
        eof = true;
      }
      continue;
    }
    if (run.status != history_decode::ok)
      break; // a torn or corrupt run: everything from here is cut
    std::string rider{run.rider_id};
    auto it = seg.heads.find(rider);
    if (it == seg.heads.end()) {
      if (seg.heads.size() >= limits_.segment_riders_max)
        break;
      it = seg.heads.emplace(std::move(rider), head{}).first;
    }
    it->second.offset = offset;
    it->second.samples += static_cast<std::uint32_t>(run.count);
    seg.samples += run.count;
    offset += run.bytes;
  }
  if (offset < seg.bytes) {
    std::fprintf(stderr,
                 "courier-node: history: %s: cut %llu bytes of a torn or corrupt tail at "
                 "offset %llu\n",
                 path.c_str(), static_cast<unsigned long long>(seg.bytes - offset),
                 static_cast<unsigned long long>(offset));
    stats_.torn_records += 1;
    stats_.torn_bytes += seg.bytes - offset;
    if (::ftruncate(seg.fd, static_cast<off_t>(offset)) != 0)
      seg.broken = true; // appends after the garbage would be lost at the next open
    seg.bytes = offset;
  }
}

std::uint64_t history_file_backend::bytes_total() const {
  std::uint64_t n = 0;
  for (auto& [key, seg] : segments_)
    n += seg.bytes + seg.index_bytes;
  return n;
}

std::size_t history_file_backend::unsealed(history_detail d) const {
  std::size_t n = 0;
  for (auto& [key, seg] : segments_)
    n += key.first == static_cast<std::uint8_t>(d) && !seg.sealed ? 1 : 0;
  return n;
}

void history_file_backend::drop(history_detail d, history_drop why, std::uint64_t samples) {
  stats_.dropped[static_cast<std::size_t>(d)][static_cast<std::size_t>(why)] += samples;
}

void history_file_backend::append(const std::vector<history_run>& runs, core::time_ms now_ms) {
  std::map<segment_key, std::vector<const history_run*>> groups;
  for (auto& r : runs) {
    COURIER_ASSERT(!r.samples.empty());
    groups[{static_cast<std::uint8_t>(r.detail), r.hour}].push_back(&r);
  }
  for (auto& [key, group] : groups)
    append_group(key, group, now_ms);
}

history_file_backend::segment*
history_file_backend::open_for_append(segment_key key, std::size_t samples,
                                      core::time_ms now_ms) {
  auto d = static_cast<history_detail>(key.first);
  const core::time_ms hour_end = (key.second + 1) * history_hour_ms;
  if (key.second < 0 || hour_end + limits_.seal_after.count() <= now_ms ||
      hour_end <= now_ms - limits_.retention(d).count()) {
    drop(d, history_drop::late, samples);
    return nullptr;
  }
  auto it = segments_.find(key);
  if (it != segments_.end()) {
    if (it->second.sealed)
      drop(d, history_drop::late, samples);
    else if (it->second.broken)
      drop(d, history_drop::write_error, samples);
    else
      return &it->second;
    return nullptr;
  }
  if (unsealed(d) >= limits_.open_segments_max) {
    drop(d, history_drop::segments, samples);
    return nullptr;
  }
  auto path = segment_path(d, key.second);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::fprintf(stderr, "courier-node: history: cannot create %s: %s\n", path.c_str(),
                 std::strerror(errno));
    stats_.write_failures += 1;
    drop(d, history_drop::write_error, samples);
    return nullptr;
  }
  segment seg;
  seg.fd = fd;
  seg.bytes = file_size(fd);
  return &segments_.emplace(key, std::move(seg)).first->second;
}

void history_file_backend::append_group(segment_key key,
                                        const std::vector<const history_run*>& runs,
                                        core::time_ms now_ms) {
  auto d = static_cast<history_detail>(key.first);
  std::size_t samples = 0;
  for (auto* r : runs)
    samples += r->samples.size();
  segment* seg = open_for_append(key, samples, now_ms);
  if (seg == nullptr)
    return;
  const auto path = segment_path(d, key.second);
  auto room = limits_.disk_bytes_max - std::min(limits_.disk_bytes_max, bytes_total());
  std::string buf;
  // Heads this write moves; applied only once the bytes are in the file.
  std::unordered_map<std::string, head> moved;
  std::uint64_t kept = 0;
  for (auto* r : runs) {
    const auto n = r->samples.size();
    auto found = moved.find(r->rider_id);
    head h{history_no_run, 0};
    if (found != moved.end()) {
      h = found->second;
    } else if (auto old = seg->heads.find(r->rider_id); old != seg->heads.end()) {
      h = old->second;
    } else if (seg->heads.size() + moved.size() >= limits_.segment_riders_max) {
      drop(d, history_drop::riders, n);
      continue;
    }
    const auto chunks = (n + limits_.run_samples_max - 1) / limits_.run_samples_max;
    const auto record_bytes =
        chunks * (history_run_header_bytes + r->rider_id.size()) + n * history_sample_bytes;
    if (buf.size() + record_bytes > room) {
      drop(d, history_drop::disk_full, n);
      continue;
    }
    for (std::size_t i = 0; i < n; i += limits_.run_samples_max) {
      const auto count = std::min(limits_.run_samples_max, n - i);
      const auto at = seg->bytes + buf.size();
      encode_history_run(buf, r->rider_id, d, h.offset, r->samples.data() + i, count);
      h.offset = at;
      h.samples += static_cast<std::uint32_t>(count);
    }
    moved[r->rider_id] = h;
    kept += n;
  }
  if (buf.empty())
    return;
  std::uint64_t written = 0;
  if (auto ok = write_all(seg->fd, buf, write_, written, path); !ok) {
    std::fprintf(stderr, "courier-node: history: %s (%zu samples dropped)\n",
                 ok.err().message.c_str(), static_cast<std::size_t>(kept));
    stats_.write_failures += 1;
    drop(d, history_drop::write_error, kept);
    if (written > 0 && ::ftruncate(seg->fd, static_cast<off_t>(seg->bytes)) != 0)
      seg->broken = true;
    return;
  }
  seg->bytes += buf.size();
  seg->samples += kept;
  for (auto& [rider, h] : moved)
    seg->heads[rider] = h;
  stats_.written[key.first] += kept;
}

core::result<history_page> history_file_backend::read(const std::string& rider_id,
                                                      history_detail d, core::time_ms from_ms,
                                                      core::time_ms to_ms,
                                                      std::size_t samples_max) {
  history_page page;
  page.from_ms = from_ms;
  page.to_ms = to_ms;
  if (from_ms >= to_ms || rider_id.empty())
    return page;
  const auto first = history_hour_of(from_ms);
  const auto last = history_hour_of(to_ms - 1);
  // Only hours that have a segment cost anything: walk the map, not the range.
  auto it = segments_.lower_bound({static_cast<std::uint8_t>(d), first});
  for (; it != segments_.end() && it->first.first == static_cast<std::uint8_t>(d) &&
         it->first.second <= last;
       ++it) {
    std::vector<history_sample> hour;
    read_hour(it->first, it->second, rider_id, from_ms, to_ms, hour);
    std::stable_sort(hour.begin(), hour.end(),
                     [](const history_sample& a, const history_sample& b) {
                       return a.at_ms < b.at_ms;
                     });
    page.samples.insert(page.samples.end(), hour.begin(), hour.end());
    if (page.samples.size() > samples_max) {
      page.samples.resize(samples_max);
      page.truncated = true;
      break;
    }
  }
  return page;
}

void history_file_backend::read_hour(segment_key key, const segment& seg,
                                     const std::string& rider_id, core::time_ms from_ms,
                                     core::time_ms to_ms, std::vector<history_sample>& out) {
  const auto path = segment_path(static_cast<history_detail>(key.first), key.second);
  if (!seg.sealed) {
    auto h = seg.heads.find(rider_id);
    if (h != seg.heads.end())
      (void)follow_chain(seg.fd, path, seg.bytes, h->second.offset, key, rider_id, from_ms,
                         to_ms, out);
    return;
  }
  const auto idx_path = path + ".idx";
  int ifd = ::open(idx_path.c_str(), O_RDONLY | O_CLOEXEC);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  char hb[history_index_header_bytes];
  history_index_header header;
  if (ifd < 0 || fd < 0 || !pread_all(ifd, hb, sizeof hb, 0, idx_path).ok() ||
      !decode_history_index_header(hb, header) || header.segment_bytes != seg.bytes) {
    stats_.torn_records += 1; // deleted or damaged under us: this hour is skipped
  } else {
    const auto hash = history_rider_hash(rider_id);
    auto entry_at = [&](std::uint32_t i, history_index_entry& e) {
      char eb[history_index_entry_bytes];
      if (!pread_all(ifd, eb, sizeof eb,
                     history_index_header_bytes + std::uint64_t{i} * history_index_entry_bytes,
                     idx_path)
               .ok())
        return false;
      e = decode_history_index_entry(eb);
      return true;
    };
    // The first entry with this hash (entries are sorted by hash).
    std::uint32_t lo = 0, hi = header.entries;
    history_index_entry e;
    while (lo < hi) {
      auto mid = lo + (hi - lo) / 2;
      if (!entry_at(mid, e)) {
        lo = hi = header.entries;
        break;
      }
      if (e.hash < hash)
        lo = mid + 1;
      else
        hi = mid;
    }
    // Equal hashes (collisions) are told apart by the rider id of the run.
    for (auto i = lo; i < header.entries && entry_at(i, e) && e.hash == hash; ++i)
      if (follow_chain(fd, path, header.segment_bytes, e.head, key, rider_id, from_ms, to_ms,
                       out) == chain::read)
        break;
  }
  if (ifd >= 0)
    ::close(ifd);
  if (fd >= 0)
    ::close(fd);
}

history_file_backend::chain history_file_backend::follow_chain(
    int fd, const std::string& path, std::uint64_t file_bytes, std::uint64_t chain_head,
    segment_key key, const std::string& rider_id, core::time_ms from_ms, core::time_ms to_ms,
    std::vector<history_sample>& out, std::string* seen) {
  const core::time_ms hour_start = key.second * history_hour_ms;
  std::string buf;
  std::uint64_t offset = chain_head;
  for (std::size_t runs = 0; offset != history_no_run; ++runs) {
    if (runs >= limits_.hour_runs_max || offset + history_run_header_bytes > file_bytes) {
      stats_.torn_records += 1;
      return chain::read;
    }
    buf.resize(static_cast<std::size_t>(std::min<std::uint64_t>(run_read_bytes,
                                                                file_bytes - offset)));
    if (!pread_all(fd, buf.data(), buf.size(), offset, path).ok()) {
      stats_.torn_records += 1;
      return chain::read;
    }
    const auto whole = history_run_bytes(buf.data());
    if (whole > buf.size() && offset + whole <= file_bytes) {
      auto have = buf.size();
      buf.resize(whole);
      if (!pread_all(fd, buf.data() + have, whole - have, offset + have, path).ok()) {
        stats_.torn_records += 1;
        return chain::read;
      }
    }
    auto run = decode_history_run(buf);
    if (run.status != history_decode::ok ||
        run.detail != static_cast<history_detail>(key.first) ||
        (run.prev != history_no_run && run.prev >= offset)) {
      stats_.torn_records += 1;
      return chain::read;
    }
    if (runs == 0 && rider_id.empty() && seen != nullptr) {
      *seen = std::string{run.rider_id};
    } else if (run.rider_id != (rider_id.empty() && seen != nullptr ? *seen : rider_id)) {
      if (runs == 0)
        return chain::other_rider; // a hash collision in the index
      stats_.torn_records += 1;
      return chain::read;
    }
    for (std::size_t i = 0; i < run.count; ++i) {
      history_sample s;
      if (!decode_history_sample(run.samples + i * history_sample_bytes, s) ||
          s.at_ms < hour_start || s.at_ms >= hour_start + history_hour_ms) {
        stats_.torn_records += 1;
        continue;
      }
      if (s.at_ms >= from_ms && s.at_ms < to_ms)
        out.push_back(s);
    }
    offset = run.prev;
  }
  return chain::read;
}

void history_file_backend::maintain(core::time_ms now_ms) {
  for (auto it = segments_.begin(); it != segments_.end();) {
    auto d = static_cast<history_detail>(it->first.first);
    const core::time_ms hour_end = (it->first.second + 1) * history_hour_ms;
    if (hour_end <= now_ms - limits_.retention(d).count()) {
      if (compaction_ && compaction_->key == it->first)
        abort_compaction(0);
      remove_segment(it->first, it->second);
      it = segments_.erase(it);
      continue;
    }
    auto& seg = it->second;
    if (!seg.sealed && hour_end + limits_.seal_after.count() <= now_ms &&
        seg.seal_retry_ms <= now_ms && !seal(it->first, seg))
      seg.seal_retry_ms = now_ms + 60'000; // a failing disk is not hammered every second
    ++it;
  }
  compact_step(now_ms);
}

bool history_file_backend::write_index(const std::string& path, history_index_header header,
                                       std::vector<history_index_entry>& entries) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.head < b.head;
  });
  header.entries = static_cast<std::uint32_t>(entries.size());
  std::string idx;
  idx.reserve(history_index_header_bytes + entries.size() * history_index_entry_bytes);
  encode_history_index_header(idx, header);
  for (auto& e : entries)
    encode_history_index_entry(idx, e);
  const auto tmp = path + ".idx.tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  std::uint64_t written = 0;
  bool ok = fd >= 0 && write_all(fd, idx, {}, written, tmp).ok() && ::fdatasync(fd) == 0;
  if (fd >= 0)
    ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "courier-node: history: cannot write %s: %s\n", tmp.c_str(),
                 std::strerror(errno));
    std::remove(tmp.c_str());
    stats_.write_failures += 1;
  }
  return ok;
}

bool history_file_backend::install_index(const std::string& path) {
  const auto tmp = path + ".idx.tmp";
  if (::rename(tmp.c_str(), (path + ".idx").c_str()) != 0) {
    std::fprintf(stderr, "courier-node: history: cannot rename %s: %s\n", tmp.c_str(),
                 std::strerror(errno));
    std::remove(tmp.c_str());
    stats_.write_failures += 1;
    return false;
  }
  fsync_dir(dir_);
  return true;
}

bool history_file_backend::seal(segment_key key, segment& seg) {
  const auto path = segment_path(static_cast<history_detail>(key.first), key.second);
  std::vector<history_index_entry> entries;
  entries.reserve(seg.heads.size());
  for (auto& [rider, h] : seg.heads)
    entries.push_back(history_index_entry{history_rider_hash(rider), h.samples, h.offset});
  // The segment is durable before an index says it is sealed.
  if (::fdatasync(seg.fd) != 0) {
    std::fprintf(stderr, "courier-node: history: cannot fdatasync %s: %s (retried)\n",
                 path.c_str(), std::strerror(errno));
    stats_.write_failures += 1;
    return false;
  }
  if (!write_index(path, history_index_header{seg.bytes, seg.samples, 0, false}, entries) ||
      !install_index(path))
    return false;
  ::close(seg.fd);
  seg.fd = -1;
  seg.sealed = true;
  seg.index_bytes = history_index_header_bytes + entries.size() * history_index_entry_bytes;
  std::unordered_map<std::string, head>{}.swap(seg.heads);
  return true;
}

void history_file_backend::remove_segment(segment_key key, segment& seg) {
  auto d = static_cast<history_detail>(key.first);
  const auto path = segment_path(d, key.second);
  if (seg.fd >= 0)
    ::close(seg.fd);
  seg.fd = -1;
  std::remove(path.c_str());
  std::remove((path + ".idx").c_str());
  stats_.pruned[key.first] += seg.samples;
  stats_.segments_pruned += 1;
}

void history_file_backend::sync() {
  for (auto& [key, seg] : segments_)
    if (seg.fd >= 0)
      (void)::fdatasync(seg.fd);
}

history_stats history_file_backend::stats() const {
  history_stats s = stats_;
  s.bytes = bytes_total();
  s.segments = segments_.size();
  return s;
}

void history_file_backend::compact_step(core::time_ms now_ms) {
  if (!compaction_) {
    for (auto& [key, seg] : segments_)
      if (seg.sealed && !seg.compacted && seg.seal_retry_ms <= now_ms) {
        if (!start_compaction(key, seg))
          seg.seal_retry_ms = now_ms + 60'000;
        break;
      }
    if (!compaction_)
      return;
  }
  auto& c = *compaction_;
  for (std::size_t n = 0; n < limits_.compact_riders_per_call && c.next < c.todo.size(); ++n)
    if (!compact_rider(c.todo[c.next++])) {
      abort_compaction(now_ms);
      return;
    }
  if (c.next == c.todo.size())
    finish_compaction(now_ms);
}

bool history_file_backend::start_compaction(segment_key key, const segment& seg) {
  const auto path = segment_path(static_cast<history_detail>(key.first), key.second);
  auto c = std::make_unique<compaction>();
  c->key = key;
  compaction_ = std::move(c);
  auto& cc = *compaction_;
  int ifd = ::open((path + ".idx").c_str(), O_RDONLY | O_CLOEXEC);
  cc.old_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  cc.fd = ::open((path + ".compact").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  char hb[history_index_header_bytes];
  history_index_header header;
  bool ok = ifd >= 0 && cc.old_fd >= 0 && cc.fd >= 0 &&
            pread_all(ifd, hb, sizeof hb, 0, path + ".idx").ok() &&
            decode_history_index_header(hb, header) && header.segment_bytes == seg.bytes &&
            header.entries <= limits_.segment_riders_max;
  std::string entries;
  if (ok) {
    entries.resize(std::size_t{header.entries} * history_index_entry_bytes);
    ok = entries.empty() ||
         pread_all(ifd, entries.data(), entries.size(), history_index_header_bytes, path + ".idx")
             .ok();
  }
  if (ifd >= 0)
    ::close(ifd);
  if (!ok) {
    abort_compaction(0);
    return false;
  }
  cc.old_bytes = header.segment_bytes;
  cc.todo.reserve(header.entries);
  for (std::size_t i = 0; i < header.entries; ++i)
    cc.todo.push_back(decode_history_index_entry(entries.data() + i * history_index_entry_bytes));
  return true;
}

bool history_file_backend::compact_rider(const history_index_entry& e) {
  auto& c = *compaction_;
  const auto path = segment_path(static_cast<history_detail>(c.key.first), c.key.second);
  std::vector<history_sample> samples;
  std::string rider;
  (void)follow_chain(c.old_fd, path, c.old_bytes, e.head, c.key, "",
                     std::numeric_limits<core::time_ms>::min(),
                     std::numeric_limits<core::time_ms>::max(), samples, &rider);
  if (samples.empty())
    return true; // a damaged chain: counted where it was read
  std::stable_sort(samples.begin(), samples.end(),
                   [](const history_sample& a, const history_sample& b) {
                     return a.at_ms < b.at_ms;
                   });
  std::string buf;
  std::uint64_t prev = history_no_run;
  for (std::size_t i = 0; i < samples.size(); i += limits_.run_samples_max) {
    const auto count = std::min(limits_.run_samples_max, samples.size() - i);
    const auto at = c.bytes + buf.size();
    encode_history_run(buf, rider, static_cast<history_detail>(c.key.first), prev,
                       samples.data() + i, count);
    prev = at;
  }
  std::uint64_t written = 0;
  if (!write_all(c.fd, buf, write_, written, path + ".compact").ok())
    return false;
  c.bytes += buf.size();
  c.samples += samples.size();
  c.done.push_back(history_index_entry{history_rider_hash(rider),
                                       static_cast<std::uint32_t>(samples.size()), prev});
  return true;
}

void history_file_backend::finish_compaction(core::time_ms now_ms) {
  // Take what the compaction produced; its files are closed below.
  const auto key = compaction_->key;
  const auto bytes = compaction_->bytes;
  const auto old_bytes = compaction_->old_bytes;
  const auto samples = compaction_->samples;
  auto done = std::move(compaction_->done);
  auto unchanged = std::move(compaction_->todo);
  const bool synced = ::fdatasync(compaction_->fd) == 0;
  close_compaction(); // the .compact stays, to be renamed below
  auto it = segments_.find(key);
  COURIER_ASSERT(it != segments_.end()); // pruning aborts a compaction first
  auto& seg = it->second;
  const auto path = segment_path(static_cast<history_detail>(key.first), key.second);
  COURIER_ASSERT(bytes <= old_bytes); // merging runs only drops headers
  bool ok = false;
  if (bytes == old_bytes) {
    // Nothing to gain: only the index is flagged, so a segment and an index
    // of different generations never match in size across a crash.
    std::remove((path + ".compact").c_str());
    ok = write_index(path, history_index_header{seg.bytes, seg.samples, 0, true}, unchanged) &&
         install_index(path);
  } else {
    ok = synced && write_index(path, history_index_header{bytes, samples, 0, true}, done);
    const bool renamed = ok && ::rename((path + ".compact").c_str(), path.c_str()) == 0;
    if (!renamed)
      std::remove((path + ".compact").c_str());
    ok = renamed && install_index(path);
    if (renamed && !ok) {
      // The new segment is in place but not its index: index it again from
      // its records, as open would.
      std::remove((path + ".idx").c_str());
      segments_.erase(it);
      load_segment(key, path, false);
      stats_.index_rebuilds += 1;
      return;
    }
    if (ok) {
      seg.bytes = bytes;
      seg.samples = samples;
      seg.index_bytes = history_index_header_bytes + done.size() * history_index_entry_bytes;
    }
  }
  if (!ok) {
    stats_.write_failures += 1;
    seg.seal_retry_ms = now_ms + 60'000;
    return;
  }
  seg.compacted = true;
  stats_.compactions += 1;
}

void history_file_backend::close_compaction() {
  if (!compaction_)
    return;
  if (compaction_->old_fd >= 0)
    ::close(compaction_->old_fd);
  if (compaction_->fd >= 0)
    ::close(compaction_->fd);
  compaction_.reset();
}

void history_file_backend::abort_compaction(core::time_ms now_ms) {
  if (!compaction_)
    return;
  const auto key = compaction_->key;
  close_compaction();
  std::remove((segment_path(static_cast<history_detail>(key.first), key.second) + ".compact")
                  .c_str());
  if (now_ms != 0) {
    stats_.write_failures += 1;
    if (auto it = segments_.find(key); it != segments_.end())
      it->second.seal_retry_ms = now_ms + 60'000;
  }
}

} // namespace courier::storage
