#include "messages/client.hpp"
#include "messages/convert.hpp"
#include "messages/json.hpp"
#include "messages/test_samples.hpp"
#include "messages/validate.hpp"
#include "messages/wire_traits.hpp"

#include "courier.pb.h"

#include <google/protobuf/stubs/logging.h>

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace courier;
using namespace courier::msg;

namespace {

envelope proto_round_trip(const envelope& in) {
  auto bytes = encode_binary(in);
  auto out = decode_binary(bytes.data(), bytes.size());
  REQUIRE_MESSAGE(out.ok(), out.err().message);
  return std::move(out).value();
}

envelope json_round_trip(const envelope& in) {
  auto text = encode_json(in);
  auto out = decode_json(text);
  REQUIRE_MESSAGE(out.ok(), out.err().message, " in ", text);
  return std::move(out).value();
}

/// Clears every optional field of `x` (nested values keep theirs).
void clear_optionals(client_body& body) {
  std::visit(
      [](auto& x) {
        using T = std::decay_t<decltype(x)>;
        T::visit_fields(x, [](auto... fs) {
          auto clear = [](auto& v) {
            if constexpr (detail::is_optional<std::decay_t<decltype(v)>>::value)
              v.reset();
          };
          (clear(fs.value), ...);
        });
      },
      body);
}

} // namespace

TEST_CASE("samples cover every message type, each valid") {
  auto samples = test::all_samples();
  REQUIRE(samples.size() == std::variant_size_v<client_body>);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    CAPTURE(type_of(samples[i].body));
    CHECK(samples[i].body.index() == i);
    auto ok = validate(samples[i]);
    CHECK_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.err().message));
  }
}

TEST_CASE("every type name is the protobuf oneof field name and the CAF name") {
  courier::v1::Envelope env;
  const auto* body = env.GetDescriptor()->FindOneofByName("body");
  REQUIRE(body != nullptr);
  CHECK(body->field_count() == static_cast<int>(std::variant_size_v<client_body>));
  std::set<std::string> names;
  for (const auto& e : test::all_samples()) {
    auto type = std::string{type_of(e.body)};
    names.insert(type);
    CHECK_MESSAGE(env.GetDescriptor()->FindFieldByName(type) != nullptr, type);
    std::visit(
        [&](const auto& x) {
          CHECK(std::string{std::decay_t<decltype(x)>::caf_name} == "courier." + type);
        },
        e.body);
  }
  CHECK(names.size() == std::variant_size_v<client_body>);
}

TEST_CASE("every message round-trips struct -> protobuf -> struct -> JSON -> struct") {
  for (const auto& in : test::all_samples()) {
    CAPTURE(type_of(in.body));
    auto via_proto = proto_round_trip(in);
    CHECK(via_proto == in);
    auto via_json = json_round_trip(via_proto);
    CHECK(via_json == in);
  }
}

TEST_CASE("every message round-trips with its optional fields absent") {
  for (auto in : test::all_samples()) {
    CAPTURE(type_of(in.body));
    in.ref.clear();
    clear_optionals(in.body);
    CHECK(proto_round_trip(in) == in);
    CHECK(json_round_trip(in) == in);
    CHECK(encode_json(in).find("\"ref\"") == std::string::npos);
  }
}

TEST_CASE("to_proto sets the oneof and the ref") {
  envelope in{"r1", ack{9}};
  auto pb = to_proto(in);
  CHECK(pb.ref() == "r1");
  CHECK(pb.has_ack());
  CHECK(pb.ack().seq() == 9);
  auto back = from_proto(pb);
  REQUIRE(back.ok());
  CHECK(*back == in);
}

TEST_CASE("proto3 optional fields keep presence: absent differs from zero") {
  envelope with_zero{"", ok_reply{0}};
  envelope without{"", ok_reply{}};
  CHECK(proto_round_trip(with_zero) == with_zero);
  CHECK(proto_round_trip(without) == without);
  CHECK(encode_json(with_zero) == R"({"type":"ok","version":0})");
  CHECK(encode_json(without) == R"({"type":"ok"})");
}

TEST_CASE("money travels as a decimal and lives as minor units") {
  auto r = decode_json(R"({"type":"place_order","request_id":"q","store_id":"s",)"
                       R"("items":[{"sku":"a","qty":3,"price":9.99}],"total":29.97,)"
                       R"("dropoff":{"lat":1,"lng":2}})");
  REQUIRE(r.ok());
  const auto& p = std::get<place_order>(r->body);
  CHECK(p.items[0].price.minor_units == 999);
  CHECK(p.total.minor_units == 2997);
  CHECK(validate(*r).ok());
  CHECK(money::from_decimal(0.1 + 0.2)->minor_units == 30);
  CHECK_FALSE(money::from_decimal(1e300).has_value());
}

TEST_CASE("encode_json writes type first, fields in order, ref last") {
  envelope e{"abc", position{5, 1.5, -2.25, 1000, std::nullopt, 3.0, std::nullopt}};
  CHECK(encode_json(e) ==
        R"({"type":"position","seq":5,"lat":1.5,"lng":-2.25,"time_ms":1000,"speed_mps":3.0,"ref":"abc"})");
  envelope big{"", welcome{role::admin, "a-1", 9'007'199'254'740'993}};
  CHECK(encode_json(big) ==
        R"({"type":"welcome","role":"admin","id":"a-1","server_time_ms":9007199254740993})");
}

TEST_CASE("garbage protobuf bytes are bad_request, never a crash") {
  const unsigned char garbage[][8] = {
      {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
      {0x0a, 0x7f, 'a', 'b', 0, 0, 0, 0}, // ref claims 127 bytes
      {0x6a, 0x02, 0x0a, 0x05, 0, 0, 0, 0}, // place_order with a truncated field
      {0x08, 0x01, 0, 0, 0, 0, 0, 0},       // unknown field only: no body
  };
  for (const auto& g : garbage) {
    auto r = decode_binary(g, sizeof g);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code == core::errc::bad_request);
  }
  auto empty = decode_binary(nullptr, 0);
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.err().code == core::errc::bad_request);
  std::string huge(core::limits::frame_bytes_max + 1, '\0');
  auto too_big = decode_binary(huge.data(), huge.size());
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.err().message == "frame too large");
}

TEST_CASE("every prefix and a bit-flip of every byte decode without crashing") {
  google::protobuf::LogSilencer quiet; // flipped bytes make invalid UTF-8: logged
  for (const auto& in : test::all_samples()) {
    auto bytes = encode_binary(in);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto r = decode_binary(bytes.data(), n);
      if (!r.ok())
        CHECK(r.err().code == core::errc::bad_request);
    }
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      auto copy = bytes;
      copy[i] = static_cast<char>(copy[i] ^ 0x5a);
      auto r = decode_binary(copy.data(), copy.size());
      if (!r.ok())
        CHECK(r.err().code == core::errc::bad_request);
    }
  }
}

TEST_CASE("protobuf shape errors name the field") {
  courier::v1::Envelope pb;
  pb.mutable_status()->set_order_id("o-1");
  pb.mutable_status()->set_status("teleported");
  auto r = from_proto(pb);
  REQUIRE_FALSE(r.ok());
  CHECK(r.err().message == "field 'status': unknown value 'teleported'");

  courier::v1::Envelope no_dropoff;
  no_dropoff.mutable_place_order()->set_request_id("q");
  auto r2 = from_proto(no_dropoff);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.err().message == "field 'dropoff': missing");

  courier::v1::Envelope nan_price;
  auto* item = nan_price.mutable_new_order()->add_items();
  item->set_price(std::numeric_limits<double>::quiet_NaN());
  auto r3 = from_proto(nan_price);
  REQUIRE_FALSE(r3.ok());
  CHECK(r3.err().message == "field 'items[0].price': must be a finite amount");
}
