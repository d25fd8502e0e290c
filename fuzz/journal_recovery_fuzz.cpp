// Journal records and file-backend recovery from arbitrary bytes
// (storage/record_format, segment_scan, file_backend_open.cpp): the input
// becomes one or two segment files in a scratch journal directory, which
// file_backend::open recovers. A journal it opens must be readable for
// every stream it indexed, and must still open after one more append.
//
// Input: a flags byte, then the segment bytes. Flags bit 0: the bytes are
// raw (garbage, torn writes) or a script of records, encoded with the real
// encode_record so that CRCs hold: per record [op][stream][version][n]
// then n payload bytes; op bit 0 event/snapshot, op bit 1 garbage
// instead (the n bytes as they are), op bits 2-3 a torn copy (cut at half).
// Bit 1: split into two segment files at the middle record. Bit 2: append,
// sync, reopen.
#include "fuzz/fuzz_check.hpp"
#include "storage/file_backend.hpp"
#include "storage/record_format.hpp"
#include "storage/segment_scan.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

using namespace courier;
using namespace courier::storage;
namespace fs = std::filesystem;

namespace {

/// One scratch directory per process, emptied before every input (tmpfs
/// when there is one: recovery's fdatasync costs nothing there), removed
/// at exit.
struct scratch {
  std::string path;
  scratch() {
    std::string base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    path = base + "/courier-fuzz-journal-XXXXXX";
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

/// The script form: records with good CRCs, garbage and torn copies.
std::vector<std::string> build_records(std::string_view in) {
  std::vector<std::string> out;
  while (in.size() >= 4) {
    auto op = static_cast<std::uint8_t>(in[0]);
    std::string stream = "order:" + std::string(1, static_cast<char>('a' + in[1] % 4));
    auto version = static_cast<version_t>(static_cast<std::uint8_t>(in[2]));
    std::size_t n = std::min<std::size_t>(static_cast<std::uint8_t>(in[3]), in.size() - 4);
    auto payload = in.substr(4, n);
    in.remove_prefix(4 + n);
    std::string rec;
    if (op & 2) {
      rec = std::string{payload};
    } else {
      encode_record(rec, (op & 1) ? record_kind::snapshot : record_kind::event, stream,
                    version, payload);
      if ((op & 0x0C) == 0x0C)
        rec.resize(rec.size() / 2);
    }
    out.push_back(std::move(rec));
  }
  return out;
}

/// Everything open() indexed can be read back.
void check_readable(file_backend& b) {
  for (const auto& s : b.streams()) {
    auto r = b.read(s);
    FUZZ_CHECK(r);
    FUZZ_CHECK(r->version == b.version(s));
    version_t v = r->snapshot ? r->snapshot->version : 0;
    for (const auto& e : r->events)
      FUZZ_CHECK(e.version == ++v);
    FUZZ_CHECK(v == r->version);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1)
    return 0;
  const auto flags = data[0];
  std::string_view body{reinterpret_cast<const char*>(data) + 1, size - 1};
  std::vector<std::string> segments;
  if (flags & 1) {
    auto recs = build_records(body);
    std::string first, second;
    const std::size_t split = (flags & 2) ? recs.size() / 2 : recs.size();
    for (std::size_t i = 0; i < recs.size(); ++i)
      (i < split ? first : second) += recs[i];
    segments.push_back(std::move(first));
    if (flags & 2)
      segments.push_back(std::move(second));
  } else {
    segments.emplace_back(body);
  }
  const auto& dir = scratch_dir();
  for (const auto& e : fs::directory_iterator(dir)) // the last input's segments
    if (e.path().filename() != "LOCK")
      ::unlink(e.path().c_str());
  for (std::size_t i = 0; i < segments.size(); ++i)
    write_file(dir + "/" + file_backend::segment_file_name(static_cast<std::uint32_t>(i + 1)),
               segments[i]);

  // The scanner alone, as recovery uses it.
  for (const auto& seg : segments) {
    auto scanned = scan_segment(seg, [](const decoded_record& rec, std::uint64_t) {
      FUZZ_CHECK(rec.status == decode_status::ok);
      FUZZ_CHECK(rec.bytes == record_bytes(rec.stream.size(), rec.payload.size()));
      return core::result<core::unit_t>{core::unit};
    });
    FUZZ_CHECK(scanned && scanned->good_bytes <= seg.size());
  }

  auto backend = file_backend::open(dir);
  if (!backend)
    return 0; // corrupt journal: refused, with a message
  check_readable(**backend);
  if (!(flags & 4))
    return 0;
  // Recovery left an appendable journal: one more event survives a reopen.
  const std::string stream = "order:z";
  auto before = (*backend)->version(stream);
  auto appended = (*backend)->append(append_request{stream, before, {"e"}, 0});
  FUZZ_CHECK(appended);
  FUZZ_CHECK((*backend)->sync());
  backend->reset();
  auto again = file_backend::open(dir);
  if (!again)
    std::fprintf(stderr, "reopen failed: %s\n", again.err().message.c_str());
  FUZZ_CHECK(again);
  FUZZ_CHECK((*again)->version(stream) == before + 1);
  check_readable(**again);
  return 0;
}
