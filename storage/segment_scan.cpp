#include "storage/segment_scan.hpp"

#include <cstring>

namespace courier::storage {
namespace {

/// True if a valid record starts anywhere in `data` after offset `from`.
/// Candidates are found by their magic, so this is one pass over the tail.
bool valid_record_after(std::string_view data, std::uint64_t from) {
  char magic[4];
  for (int i = 0; i < 4; ++i)
    magic[i] = static_cast<char>((record_magic >> (8 * i)) & 0xFFu);
  std::size_t pos = static_cast<std::size_t>(from) + 1;
  while (pos + record_header_bytes <= data.size()) {
    const void* hit =
        memmem(data.data() + pos, data.size() - pos, magic, sizeof magic);
    if (hit == nullptr)
      return false;
    pos = static_cast<std::size_t>(static_cast<const char*>(hit) - data.data());
    if (decode_record(data.substr(pos)).status == decode_status::ok)
      return true;
    ++pos;
  }
  return false;
}

} // namespace

core::result<scan_outcome> scan_segment(std::string_view data,
                                        const record_sink& sink) {
  scan_outcome out;
  while (out.good_bytes < data.size()) {
    const auto rec = decode_record(data.substr(out.good_bytes));
    if (rec.status != decode_status::ok) {
      out.tail = valid_record_after(data, out.good_bytes) ? segment_tail::corrupt
                                                          : segment_tail::torn;
      return out;
    }
    if (auto ok = sink(rec, out.good_bytes); !ok)
      return ok.err();
    out.good_bytes += rec.bytes;
  }
  return out;
}

} // namespace courier::storage
