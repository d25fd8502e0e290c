// Location history segments from arbitrary bytes (storage/history_format,
// history_file_backend.cpp): the input becomes an unsealed raw segment
// (and maybe an index beside it) in a scratch directory. Open must never
// fail on file contents; every rider's answer must stay the same once the
// segment is sealed, compacted and reopened (those steps read the same
// chains the open found), and lie within the segment's hour.
//
// Input: a flags byte, then the segment. Flags bit 0: the bytes are raw, or
// a script of runs encoded with the real encoder (CRCs hold): per run
// [rider][n][mode] then 3 bytes per sample (seconds into the hour, u16; lat
// offset); mode bit 0 appends n garbage bytes after the run, bit 1 keeps
// only half of the run (a torn write), bit 2 gives it a bogus prev offset.
// Bit 1: the last quarter of the input is written as the segment's index.
#include "fuzz/fuzz_check.hpp"
#include "storage/history_file_backend.hpp"
#include "storage/history_format.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

using namespace courier;
using namespace courier::storage;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t hour = 472'000;
constexpr core::time_ms hour_start = hour * history_hour_ms;
constexpr int riders = 4;

struct scratch {
  std::string path;
  scratch() {
    std::string base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    path = base + "/courier-fuzz-history-XXXXXX";
    FUZZ_CHECK(::mkdtemp(path.data()) != nullptr);
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

const std::string& scratch_dir() {
  static const scratch dir;
  return dir.path;
}

void write_file(const std::string& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

std::string rider(int r) { return "r-" + std::to_string(r); }

/// The script (see the file comment) as segment bytes.
std::string encode_script(std::string_view in) {
  std::string out;
  std::map<int, std::uint64_t> heads;
  while (in.size() >= 3) {
    const int r = static_cast<unsigned char>(in[0]) % riders;
    const std::size_t n = static_cast<unsigned char>(in[1]) % 8 + 1;
    const auto mode = static_cast<unsigned char>(in[2]);
    in.remove_prefix(3);
    std::vector<history_sample> samples;
    for (std::size_t i = 0; i < n && in.size() >= 3; ++i) {
      auto s = (static_cast<unsigned char>(in[0]) | static_cast<unsigned char>(in[1]) << 8) % 3600;
      samples.push_back({hour_start + s * 1000, 37.0 + static_cast<unsigned char>(in[2]) * 1e-3,
                         127.0, 1});
      in.remove_prefix(3);
    }
    if (samples.empty())
      break;
    auto it = heads.find(r);
    std::uint64_t prev = it == heads.end() ? history_no_run : it->second;
    if (mode & 4)
      prev = out.size() / 2;
    std::string run;
    encode_history_run(run, rider(r), history_detail::raw, prev, samples.data(),
                       samples.size());
    heads[r] = out.size();
    out += (mode & 2) ? run.substr(0, run.size() / 2) : run;
    if (mode & 1) {
      auto g = std::min(n, in.size());
      out.append(in.substr(0, g));
      in.remove_prefix(g);
    }
  }
  return out;
}

std::map<int, std::vector<history_sample>> answers(history_file_backend& b) {
  std::map<int, std::vector<history_sample>> out;
  for (int r = 0; r < riders; ++r) {
    auto page = b.read(rider(r), history_detail::raw, hour_start, hour_start + history_hour_ms,
                       100'000);
    FUZZ_CHECK(page.ok());
    for (auto& s : page->samples)
      FUZZ_CHECK(s.at_ms >= hour_start && s.at_ms < hour_start + history_hour_ms);
    out[r] = page->samples;
  }
  return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  const auto flags = data[0];
  std::string_view in{reinterpret_cast<const char*>(data) + 1, size - 1};
  const auto& dir = scratch_dir();
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec))
    fs::remove_all(e.path(), ec);
  std::string_view index;
  if (flags & 2) {
    index = in.substr(in.size() - in.size() / 4);
    in = in.substr(0, in.size() - in.size() / 4);
  }
  const std::string seg = dir + "/raw-" + std::to_string(hour) + ".seg";
  write_file(seg, (flags & 1) ? std::string{in} : encode_script(in));
  if (flags & 2)
    write_file(seg + ".idx", index);
  history_limits limits;
  limits.compact_riders_per_call = 1;
  const core::time_ms now = hour_start + history_hour_ms + 11 * 60'000;
  std::map<int, std::vector<history_sample>> first;
  {
    auto b = history_file_backend::open(dir, limits);
    FUZZ_CHECK(b.ok());
    first = answers(**b);
    for (int step = 0; step < 2 * riders + 2; ++step) // seal, then compact rider by rider
      (*b)->maintain(now + step * 1000);
    FUZZ_CHECK((*b)->stats().write_failures == 0);
    auto compacted = answers(**b);
    for (auto& [r, samples] : first)
      FUZZ_CHECK(compacted[r].size() == samples.size());
  }
  auto again = history_file_backend::open(dir, limits);
  FUZZ_CHECK(again.ok());
  auto reopened = answers(**again);
  for (auto& [r, samples] : first)
    FUZZ_CHECK(reopened[r].size() == samples.size());
  return 0;
}
