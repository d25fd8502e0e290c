// Record encoding, CRC32C and the recovery scanner on plain buffers.
#include "storage/crc32c.hpp"
#include "storage/record_format.hpp"
#include "storage/segment_scan.hpp"

#include <doctest/doctest.h>

using namespace courier;
using namespace courier::storage;

TEST_CASE("crc32c_matches_the_standard_check_value") {
  CHECK(crc32c("123456789", 9) == 0xE3069283u);
  CHECK(crc32c_extend(crc32c("1234", 4), "56789", 5) == 0xE3069283u);
  CHECK(crc32c("", 0) == 0u);
}

TEST_CASE("record_round_trips_and_detects_damage") {
  std::string bytes;
  encode_record(bytes, record_kind::snapshot, "order:o-1", 42, "payload");
  CHECK(bytes.size() == record_bytes(9, 7));
  auto rec = decode_record(bytes);
  REQUIRE(rec.status == decode_status::ok);
  CHECK(rec.kind == record_kind::snapshot);
  CHECK(rec.version == 42);
  CHECK(rec.stream == "order:o-1");
  CHECK(rec.payload == "payload");
  CHECK(decode_record(std::string_view(bytes).substr(0, bytes.size() - 1))
            .status == decode_status::incomplete);
  CHECK(decode_record(std::string_view(bytes).substr(0, 10)).status ==
        decode_status::incomplete);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x01);
    CHECK(decode_record(damaged).status != decode_status::ok);
  }
}

TEST_CASE("scan_tells_a_torn_tail_from_corruption_in_the_middle") {
  std::string bytes;
  for (version_t v = 1; v <= 3; ++v)
    encode_record(bytes, record_kind::event, "s", v, "p");
  const auto one = record_bytes(1, 1);
  std::size_t seen = 0;
  const record_sink count = [&](const decoded_record&, std::uint64_t) {
    ++seen;
    return core::result<core::unit_t>(core::unit);
  };
  auto clean = scan_segment(bytes, count);
  REQUIRE(clean.ok());
  CHECK(clean->tail == segment_tail::clean);
  CHECK(clean->good_bytes == bytes.size());
  CHECK(seen == 3);

  auto torn = scan_segment(std::string_view(bytes).substr(0, bytes.size() - 2),
                           count);
  REQUIRE(torn.ok());
  CHECK(torn->tail == segment_tail::torn);
  CHECK(torn->good_bytes == 2 * one);

  std::string middle = bytes;
  middle[one + 2] ^= 0x10; // second record's header
  auto corrupt = scan_segment(middle, count);
  REQUIRE(corrupt.ok());
  CHECK(corrupt->tail == segment_tail::corrupt);
  CHECK(corrupt->good_bytes == one);
}
