#include "messages/json.hpp"
#include "messages/validate.hpp"

#include "messages/test_samples.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace courier;
using namespace courier::msg;

namespace {

/// Decodes `text`, requires success, returns the body as T.
template <class T>
T decode_as(const std::string& text) {
  auto r = decode_json(text);
  REQUIRE_MESSAGE(r.ok(), r.err().message, " in ", text);
  REQUIRE(std::holds_alternative<T>(r->body));
  auto v = validate(*r);
  CHECK_MESSAGE(v.ok(), (v.ok() ? "" : v.err().message), " in ", text);
  return std::get<T>(r->body);
}

/// Decodes `text`, requires bad_request, returns its message.
std::string decode_error(const std::string& text) {
  auto r = decode_json(text);
  REQUIRE_MESSAGE(!r.ok(), text);
  CHECK(r.err().code == core::errc::bad_request);
  return r.err().message;
}

} // namespace

TEST_CASE("PROTOCOL.md examples decode") {
  CHECK(decode_as<hello>(R"({"type":"hello","token":"t"})").token == "t");
  auto w = decode_as<welcome>(
      R"({"type":"welcome","role":"rider","id":"r-17","server_time_ms":1700000000000})");
  CHECK(w.role == role::rider);
  CHECK(w.id == "r-17");
  auto e = decode_as<error_reply>(
      R"({"type":"error","code":"unauthorized","message":"human readable","ref":"x"})");
  CHECK(e.code == core::errc::unauthorized);
  auto p = decode_as<position>(
      R"({"type":"position","seq":1,"lat":37.49,"lng":127.02,"time_ms":1700000000000})");
  CHECK(p.seq == 1);
  CHECK_FALSE(p.accuracy_m.has_value());
  CHECK(decode_as<ack>(R"({"type":"ack","seq":3})").seq == 3);
  CHECK(decode_as<availability>(R"({"type":"availability","available":true})").available);
  CHECK_FALSE(decode_as<ok_reply>(R"({"type":"ok","ref":"a"})").version.has_value());
  CHECK(decode_as<accept_offer>(R"({"type":"accept","offer_id":"of-1"})").offer_id.str() == "of-1");
  CHECK(decode_as<reject_offer>(R"({"type":"reject","offer_id":"of-1"})").offer_id.str() == "of-1");
  CHECK(decode_as<status_report>(R"({"type":"status","order_id":"o-1","status":"picked_up"})")
            .status == order_status::picked_up);
  auto po = decode_as<place_order>(
      R"({"type":"place_order","request_id":"q-1","store_id":"s-1",)"
      R"("items":[{"sku":"kimbap","qty":2,"price":4.5}],"total":9,"dropoff":{"lat":37.5,"lng":127.0}})");
  CHECK(po.total.minor_units == 900);
  CHECK(decode_as<subscribe>(R"({"type":"subscribe","order_id":"o-1"})").order_id.str() == "o-1");
  auto sub = decode_as<subscribed>(
      R"({"type":"subscribed","order_id":"o-1","snapshot":{"status":"paid","version":2}})");
  CHECK_FALSE(sub.snapshot.rider_id.has_value());
  decode_as<unsubscribe>(R"({"type":"unsubscribe","order_id":"o-1"})");
  decode_as<cancel>(R"({"type":"cancel","order_id":"o-1"})");
  decode_as<accept_order>(R"({"type":"accept_order","order_id":"o-1","prep_minutes":12})");
  decode_as<reject_order>(R"({"type":"reject_order","order_id":"o-1","reason":"closed"})");
  decode_as<cooking>(R"({"type":"cooking","order_id":"o-1"})");
  decode_as<ready>(R"({"type":"ready","order_id":"o-1"})");
  auto rt = decode_as<radius_trigger>(
      R"({"type":"radius_trigger","target":"store:s-1","trigger":"rider_shortage","radius_m":1000})");
  CHECK(rt.trigger == radius_trigger_kind::rider_shortage);
  decode_as<radius_trigger>(
      R"({"type":"radius_trigger","target":"8730e0ae9ffffff","trigger":"restore","radius_m":0})");
  decode_as<upsert_store>(
      R"({"type":"upsert_store","store_id":"s-1","lat":37.5,"lng":127.0,"radius_m":3000,"open":true})");
  decode_as<subscribe_region>(R"({"type":"subscribe_region","cell":"8730e0ae9ffffff"})");
  CHECK(decode_as<delayed_orders>(R"({"type":"delayed_orders"})").orders.empty());
}

TEST_CASE("ref is read and echoed; unknown fields are ignored") {
  auto r = decode_json(R"({"type":"cancel","order_id":"o-1","ref":"c1","extra":[1,2],"v2":null})");
  REQUIRE(r.ok());
  CHECK(r->ref == "c1");
  CHECK(encode_json(*r) == R"({"type":"cancel","order_id":"o-1","ref":"c1"})");
}

TEST_CASE("null counts as absent for optional fields") {
  auto p = decode_as<position>(
      R"({"type":"position","seq":1,"lat":1,"lng":2,"time_ms":3,"accuracy_m":null})");
  CHECK_FALSE(p.accuracy_m.has_value());
}

TEST_CASE("integer fields accept integral floats, reject fractions and negatives") {
  CHECK(decode_as<ack>(R"({"type":"ack","seq":5.0})").seq == 5);
  CHECK(decode_error(R"({"type":"ack","seq":5.5})") == "field 'seq': must be an integer");
  CHECK(decode_error(R"({"type":"ack","seq":-1})") == "field 'seq': must not be negative");
  CHECK(decode_error(R"({"type":"rider_arriving","order_id":"o","eta_s":4294967296})") ==
        "field 'eta_s': out of range");
  CHECK(decode_error(R"({"type":"ack","seq":1e30})") == "field 'seq': out of range");
}

TEST_CASE("malformed JSON is bad_request") {
  CHECK(decode_error("") == "malformed JSON");
  CHECK(decode_error("{") == "malformed JSON");
  CHECK(decode_error(R"({"type":"hello","token":"t"} trailing)") == "malformed JSON");
  CHECK(decode_error("\xff\xfe") == "malformed JSON");
  CHECK(decode_error(R"(["hello"])") == "message: must be a JSON object");
  CHECK(decode_error("42") == "message: must be a JSON object");
}

TEST_CASE("missing or unknown type is bad_request") {
  CHECK(decode_error(R"({"token":"t"})") == "field 'type': missing");
  CHECK(decode_error(R"({"type":7})") == "field 'type': must be a string");
  CHECK(decode_error(R"({"type":"teleport"})") == "unknown type 'teleport'");
}

TEST_CASE("missing required fields and wrong types name the field") {
  CHECK(decode_error(R"({"type":"hello"})") == "field 'token': missing");
  CHECK(decode_error(R"({"type":"hello","token":null})") == "field 'token': missing");
  CHECK(decode_error(R"({"type":"hello","token":5})") == "field 'token': must be a string");
  CHECK(decode_error(R"({"type":"position","seq":"1","lat":1,"lng":2,"time_ms":3})") ==
        "field 'seq': must be an integer");
  CHECK(decode_error(R"({"type":"position","seq":1,"lat":"north","lng":2,"time_ms":3})") ==
        "field 'lat': must be a number");
  CHECK(decode_error(R"({"type":"availability","available":"yes"})") ==
        "field 'available': must be a boolean");
  CHECK(decode_error(R"({"type":"place_order","request_id":"q","store_id":"s","items":{},)"
                     R"("total":1,"dropoff":{"lat":1,"lng":2}})") ==
        "field 'items': must be an array");
  CHECK(decode_error(R"({"type":"place_order","request_id":"q","store_id":"s",)"
                     R"("items":[{"sku":"a","qty":1}],"total":1,"dropoff":{"lat":1,"lng":2}})") ==
        "field 'items[0].price': missing");
  CHECK(decode_error(R"({"type":"place_order","request_id":"q","store_id":"s",)"
                     R"("items":[],"total":1,"dropoff":[1,2]})") ==
        "field 'dropoff': must be an object");
  CHECK(decode_error(R"({"type":"status","order_id":"o","status":"teleported"})") ==
        "field 'status': unknown value 'teleported'");
  CHECK(decode_error(R"({"type":"hello","token":"t","ref":1})") == "field 'ref': must be a string");
}

TEST_CASE("decode_json_as reads a REST body without type") {
  auto r = decode_json_as("cancel", R"({"order_id":"o-1"})");
  REQUIRE(r.ok());
  CHECK(std::get<cancel>(r->body).order_id.str() == "o-1");
  CHECK_FALSE(decode_json_as("nope", "{}").ok());
}

TEST_CASE("the ref of a malformed request can still be echoed") {
  CHECK(courier::msg::ref_of_json(R"({"type":"teleport","ref":"r-9"})") == "r-9");
  CHECK(courier::msg::ref_of_json(R"({"type":"position","seq":"one","ref":"x"})") == "x");
  CHECK(courier::msg::ref_of_json(R"({"ref":7})").empty());
  CHECK(courier::msg::ref_of_json("not json").empty());
}

TEST_CASE("encode_json writes exactly what nlohmann's ordered_json dump writes") {
  // The encoder writes text directly; nlohmann re-dumping what it parsed
  // from that text must give the same bytes (number formatting, escapes,
  // key order), on every sample and on strings and numbers at the edges.
  auto same_as_nlohmann = [](const envelope& e) {
    auto text = encode_json(e);
    auto j = nlohmann::ordered_json::parse(text, nullptr, false);
    REQUIRE_MESSAGE(!j.is_discarded(), text);
    CHECK(j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) == text);
    auto back = decode_json(text);
    REQUIRE_MESSAGE(back.ok(), text);
    CHECK(*back == e);
  };
  for (const auto& e : test::all_samples())
    same_as_nlohmann(e);
  for (double x : {0.0, -0.0, 1.0, 90.0, 37.4979123, 127.0276456, 1e-7, 123456789012345.0,
                   1e15, 1e16, 1e21, -1e-300, 5e-324, 1.7976931348623157e308}) {
    position p;
    p.seq = 18446744073709551615ull;
    p.lat = x;
    p.lng = -x;
    p.time_ms = -1;
    same_as_nlohmann(envelope{"r", client_body{p}});
  }
  for (std::string s : {std::string{"plain"}, std::string{"quote\" back\\ slash/"},
                        std::string{"\b\f\n\r\t\x01\x1f\x7f"}, std::string{"\xea\xb0\x95\xeb\x82\xa8"},
                        std::string{"\xf0\x9f\x9b\xb5 scooter"}, std::string{"", 0}}) {
    cancel c;
    c.order_id = core::order_id{s};
    same_as_nlohmann(envelope{s, client_body{c}});
  }
}

TEST_CASE("encode_json replaces invalid UTF-8 as nlohmann does, and stays valid JSON") {
  for (std::string bad : {std::string{"\xff"}, std::string{"a\xc3"}, std::string{"\xed\xa0\x80"},
                          std::string{"\xc0\xaf"}, std::string{"ok\xf4\x90\x80\x80"}}) {
    cancel c;
    c.order_id = core::order_id{bad};
    auto text = encode_json(envelope{"", client_body{c}});
    auto j = nlohmann::json::parse(text, nullptr, false);
    CHECK_MESSAGE(!j.is_discarded(), text);
    nlohmann::json expected = bad;
    CHECK(text.find(expected.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) !=
          std::string::npos);
  }
}

TEST_CASE("the simdjson fast path decodes exactly what nlohmann's path does, or defers") {
  // Where the fast path answers, its answer is the reference's; where it
  // defers, decode_json is the reference. Checked on every sample, on
  // edge-case texts, and on 20,000 deterministic byte mutations of them.
  std::vector<std::string> texts;
  for (const auto& e : test::all_samples())
    texts.push_back(encode_json(e));
  for (const char* t : {
           R"({"type":"position","seq":1,"seq":2,"lat":1,"lng":2,"time_ms":3})",  // repeated key: last wins
           R"({"type":"position","seq":-0,"lat":1,"lng":2,"time_ms":3})",         // -0: negative for nlohmann
           R"({"type":"position","seq":5.0,"lat":1,"lng":2,"time_ms":3.0})",      // integral floats
           R"({"type":"position","seq":5.5,"lat":1,"lng":2,"time_ms":3})",
           R"({"type":"position","seq":18446744073709551615,"lat":1e308,"lng":-1e-308,"time_ms":-9223372036854775808})",
           R"({"type":"position","seq":18446744073709551616,"lat":1,"lng":2,"time_ms":3})",
           R"({"type":"position","seq":1,"lat":1e999,"lng":2,"time_ms":3})",
           R"({"type":"position","seq":1,"lat":1,"lng":2,"time_ms":3,"speed_mps":null,"x":[{}]})",
           R"({"type":"position","seq":1,"lat":"1","lng":2,"time_ms":3})",
           R"({"type":"position","ref":7,"seq":1,"lat":1,"lng":2,"time_ms":3})",
           R"({"type":"cancel","order_id":"o-\u00e9\ud83d\udef5\n","ref":"\u0000"})",
           R"({"type":"cancel","order_id":"\ud800"})",
           "\xef\xbb\xbf{\"type\":\"cancel\",\"order_id\":\"o-1\"}",
           R"({"type":"cancel","order_id":"o-1"} )",
           R"({"type":"cancel","order_id":"o-1"}x)",
           R"([{"type":"cancel","order_id":"o-1"}])",
           R"({"type":"nope"})", R"({"type":1})", R"({})", "", "{",
       })
    texts.emplace_back(t);
  std::size_t originals = texts.size();
  std::uint64_t x = 0x9e3779b97f4a7c15ull; // splitmix64: deterministic
  auto next = [&x] {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  };
  static constexpr char alphabet[] = "{}[]\":,-0123456789.eE+ tfnul\\\"\x80\xff";
  for (int i = 0; i < 20'000; ++i) {
    auto t = texts[next() % originals];
    if (t.empty())
      continue;
    auto pos = next() % t.size();
    switch (next() % 3) {
      case 0: t[pos] = alphabet[next() % (sizeof alphabet - 1)]; break;
      case 1: t.erase(pos, 1 + next() % 3); break;
      default: t.insert(pos, 1, alphabet[next() % (sizeof alphabet - 1)]); break;
    }
    texts.push_back(std::move(t));
  }
  std::size_t fast = 0;
  for (const auto& t : texts) {
    auto ref = detail::decode_json_reference(t);
    auto got = detail::decode_json_fast(t);
    if (got) {
      ++fast;
      REQUIRE_MESSAGE(ref.ok(), "fast path accepted what nlohmann rejects: ", t);
      CHECK_MESSAGE(*got == *ref, t);
    }
    auto all = decode_json(t);
    REQUIRE(all.ok() == ref.ok());
    if (all.ok())
      CHECK_MESSAGE(*all == *ref, t);
    else
      CHECK_MESSAGE(all.err().message == ref.err().message, t);
  }
  MESSAGE("fast path answered " << fast << " of " << texts.size());
  CHECK(fast > originals / 2);
}
