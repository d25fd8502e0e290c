#include "messages/json.hpp"

#include "core/utf8.hpp"
#include "messages/wire_traits.hpp"

#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

namespace courier::msg {
namespace {

/// Bytes reserved up front for an encoded message: a push fits, so the
/// usual encode is one allocation.
constexpr std::size_t encode_json_reserve_bytes = 256;
/// Largest text the simdjson fast path decodes (its per-thread parser
/// keeps buffers of about 8x this); larger ones go through nlohmann.
constexpr std::size_t fast_decode_bytes_max = 64 * 1024;

using json = nlohmann::json;
using namespace detail;

/// A parsed JSON value as the reader sees it: nlohmann's DOM (every input)
/// or simdjson's (the fast path). Both answer the same questions the same
/// way; where they could differ the fast path is not taken (decode_fast).
class nl_view {
public:
  explicit nl_view(const json& j) : j_(&j) {}
  bool is_object() const { return j_->is_object(); }
  bool is_array() const { return j_->is_array(); }
  bool is_string() const { return j_->is_string(); }
  bool is_boolean() const { return j_->is_boolean(); }
  bool is_number() const { return j_->is_number(); }
  bool is_unsigned() const { return j_->is_number_unsigned(); }
  bool is_negative_integer() const { return j_->is_number_integer() && !is_unsigned(); }
  bool is_float() const { return j_->is_number_float(); }
  /// The member `key` unless absent or null.
  std::optional<nl_view> member(const char* key) const {
    auto it = j_->find(key);
    if (it == j_->end() || it->is_null())
      return std::nullopt;
    return nl_view{*it};
  }
  std::size_t size() const { return j_->size(); }
  template <class F>
  bool each_item(F f) const {
    std::size_t i = 0;
    for (const auto& v : *j_)
      if (!f(i++, nl_view{v}))
        return false;
    return true;
  }
  template <class F>
  bool each_member(F f) const {
    for (const auto& [k, v] : j_->items())
      if (!f(std::string_view{k}, nl_view{v}))
        return false;
    return true;
  }
  std::string_view str() const { return j_->get_ref<const std::string&>(); }
  bool boolean() const { return j_->get<bool>(); }
  double dbl() const { return j_->get<double>(); }
  std::uint64_t u64() const { return j_->get<std::uint64_t>(); }
  std::int64_t i64() const { return j_->get<std::int64_t>(); }

private:
  const json* j_;
};

/// simdjson's DOM with nlohmann's answers: a repeated key means its last
/// value (nlohmann keeps the last), an integer >= 0 is "unsigned".
class sj_view {
public:
  explicit sj_view(simdjson::dom::element e) : e_(e) {}
  bool is_object() const { return e_.type() == simdjson::dom::element_type::OBJECT; }
  bool is_array() const { return e_.type() == simdjson::dom::element_type::ARRAY; }
  bool is_string() const { return e_.type() == simdjson::dom::element_type::STRING; }
  bool is_boolean() const { return e_.type() == simdjson::dom::element_type::BOOL; }
  bool is_number() const { return e_.is_number(); }
  bool is_unsigned() const {
    return e_.type() == simdjson::dom::element_type::UINT64 ||
           (e_.type() == simdjson::dom::element_type::INT64 && i64() >= 0);
  }
  bool is_negative_integer() const {
    return e_.type() == simdjson::dom::element_type::INT64 && i64() < 0;
  }
  bool is_float() const { return e_.type() == simdjson::dom::element_type::DOUBLE; }
  std::optional<sj_view> member(const char* key) const {
    std::optional<sj_view> found;
    std::string_view k{key};
    auto obj = e_.get_object().value_unsafe();
    for (auto kv : obj) // the last one wins
      if (kv.key == k)
        found = sj_view{kv.value};
    if (found && found->e_.type() == simdjson::dom::element_type::NULL_VALUE)
      return std::nullopt;
    return found;
  }
  std::size_t size() const {
    auto arr = e_.get_array().value_unsafe();
    return arr.size();
  }
  template <class F>
  bool each_item(F f) const {
    auto arr = e_.get_array().value_unsafe();
    std::size_t i = 0;
    for (auto v : arr)
      if (!f(i++, sj_view{v}))
        return false;
    return true;
  }
  template <class F>
  bool each_member(F f) const {
    auto obj = e_.get_object().value_unsafe();
    for (auto kv : obj)
      if (!f(kv.key, sj_view{kv.value}))
        return false;
    return true;
  }
  std::string_view str() const { return e_.get_string().value_unsafe(); }
  bool boolean() const { return e_.get_bool().value_unsafe(); }
  double dbl() const { return e_.get_double().value_unsafe(); }
  std::uint64_t u64() const {
    if (e_.type() == simdjson::dom::element_type::INT64)
      return static_cast<std::uint64_t>(i64());
    return e_.get_uint64().value_unsafe();
  }
  std::int64_t i64() const { return e_.get_int64().value_unsafe(); }

private:
  simdjson::dom::element e_;
};

/// JSON value -> struct. Shape checks only; the first error wins.
template <class View>
class reader {
public:
  core::error err;

  template <class T>
  bool object(const View& j, T& out, const std::string& path) {
    if (!j.is_object())
      return fail(path.empty() ? std::string{"message"} : "field '" + path + "'",
                  "must be an object");
    return T::visit_fields(out, [&](auto... fs) { return (member(j, fs, path) && ...); });
  }

private:
  template <class T>
  bool member(const View& j, field<T> f, const std::string& path) {
    std::string at = join_path(path, f.name);
    auto it = j.member(f.name);
    bool absent = !it;
    if constexpr (is_optional<T>::value) {
      if (absent) {
        f.value.reset();
        return true;
      }
      typename T::value_type tmp{};
      if (!value(*it, tmp, at))
        return false;
      f.value = std::move(tmp);
      return true;
    } else if constexpr (is_vector<T>::value || is_map<T>::value) {
      f.value.clear();
      return absent || value(*it, f.value, at);
    } else {
      if (absent)
        return fail("field '" + at + "'", "missing");
      return value(*it, f.value, at);
    }
  }

  template <class T>
  bool value(const View& j, T& out, const std::string& at) {
    if constexpr (is_vector<T>::value) {
      if (!j.is_array())
        return wrong(at, "an array");
      out.resize(j.size());
      return j.each_item([&](std::size_t i, const View& v) {
        return object(v, out[i], at + "[" + std::to_string(i) + "]");
      });
    } else if constexpr (is_map<T>::value) {
      if (!j.is_object())
        return wrong(at, "an object");
      return j.each_member([&](std::string_view k, const View& v) {
        std::string key{k};
        return value(v, out[key], at + "." + key);
      });
    } else if constexpr (has_fields_v<T>) {
      return object(j, out, at);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!j.is_string())
        return wrong(at, "a string");
      out = std::string{j.str()};
      return true;
    } else if constexpr (is_strong_id<T>::value) {
      if (!j.is_string())
        return wrong(at, "a string");
      out = T{std::string{j.str()}};
      return true;
    } else if constexpr (is_wire_enum_v<T>) {
      if (!j.is_string())
        return wrong(at, "a string");
      auto text = j.str();
      auto parsed = enum_parse<T>(text);
      if (!parsed)
        return fail("field '" + at + "'", "unknown value '" + std::string{text} + "'");
      out = *parsed;
      return true;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!j.is_boolean())
        return wrong(at, "a boolean");
      out = j.boolean();
      return true;
    } else if constexpr (std::is_integral_v<T>) {
      return integer(j, out, at);
    } else if constexpr (std::is_same_v<T, double>) {
      if (!j.is_number())
        return wrong(at, "a number");
      out = j.dbl();
      return true;
    } else if constexpr (std::is_same_v<T, money>) {
      if (!j.is_number())
        return wrong(at, "a number");
      auto amount = money::from_decimal(j.dbl());
      if (!amount)
        return fail("field '" + at + "'", "must be a finite amount");
      out = *amount;
      return true;
    } else {
      static_assert(always_false_v<T>, "field type without a JSON mapping");
    }
  }

  template <class Int>
  bool integer(const View& j, Int& out, const std::string& at) {
    using lim = std::numeric_limits<Int>;
    if (j.is_unsigned()) {
      auto v = j.u64();
      if (v > static_cast<std::uint64_t>(lim::max()))
        return fail("field '" + at + "'", "out of range");
      out = static_cast<Int>(v);
      return true;
    }
    if (j.is_negative_integer()) {
      auto v = j.i64();
      if (!lim::is_signed)
        return fail("field '" + at + "'", "must not be negative");
      out = static_cast<Int>(v);
      return true;
    }
    if (j.is_float()) {
      double v = j.dbl();
      // 2^63 and 2^64 are exact doubles: the bounds below are exact.
      double hi = lim::is_signed ? 9223372036854775808.0 : 18446744073709551616.0;
      double lo = lim::is_signed ? -9223372036854775808.0 : 0.0;
      if (!std::isfinite(v) || v != std::trunc(v))
        return wrong(at, "an integer");
      if (v < lo || v >= hi ||
          (sizeof(Int) < 8 && v > static_cast<double>(lim::max())))
        return fail("field '" + at + "'", "out of range");
      out = static_cast<Int>(v);
      return true;
    }
    return wrong(at, "an integer");
  }

  bool wrong(const std::string& at, const char* what) {
    return fail("field '" + at + "'", std::string{"must be "} + what);
  }

  bool fail(const std::string& where, const std::string& what) {
    err = core::make_error(core::errc::bad_request, where + ": " + what);
    return false;
  }
};

/// Struct -> JSON text, written straight into one string (no DOM: the
/// DOM writer this replaced cost ~2 us per push-sized message). The text
/// is what nlohmann's ordered_json dump wrote, byte for byte: "type" first,
/// the fields in declaration order, "ref" last, optional fields only when
/// present, doubles by nlohmann's own shortest round-trip formatting,
/// non-finite doubles as null, strings with nlohmann's escapes (valid UTF-8
/// passes through; a string with invalid UTF-8 is left to nlohmann, which
/// replaces the bad bytes). json.test.cpp compares both on every sample.
class text_writer {
public:
  explicit text_writer(std::string& out) : out_(out) {}

  template <class T>
  void members(const T& in, bool& first) {
    T::visit_fields(in, [&](auto... fs) { (member(fs, first), ...); });
  }

  void key(const char* name, bool& first) {
    if (!first)
      out_ += ',';
    first = false;
    string(name);
    out_ += ':';
  }

  void string(std::string_view s) {
    if (!core::valid_utf8(s)) {
      out_ += nlohmann::json(std::string{s}).dump(-1, ' ', false,
                                                  nlohmann::json::error_handler_t::replace);
      return;
    }
    out_ += '"';
    std::size_t plain = 0; // start of the run not yet copied
    for (std::size_t i = 0; i < s.size(); ++i) {
      auto c = static_cast<unsigned char>(s[i]);
      const char* esc = nullptr;
      switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
          if (c > 0x1F)
            continue;
      }
      out_.append(s.data() + plain, i - plain);
      plain = i + 1;
      if (esc != nullptr) {
        out_ += esc;
      } else {
        static constexpr char hex[] = "0123456789abcdef";
        out_ += "\\u00";
        out_ += hex[c >> 4];
        out_ += hex[c & 0xF];
      }
    }
    out_.append(s.data() + plain, s.size() - plain);
    out_ += '"';
  }

private:
  template <class T>
  void member(field<const T> f, bool& first) {
    if constexpr (is_optional<T>::value) {
      if (f.value) {
        key(f.name, first);
        value(*f.value);
      }
    } else {
      key(f.name, first);
      value(f.value);
    }
  }

  template <class T>
  void value(const T& in) {
    if constexpr (is_vector<T>::value) {
      out_ += '[';
      bool first_item = true;
      for (const auto& x : in) {
        if (!first_item)
          out_ += ',';
        first_item = false;
        value(x);
      }
      out_ += ']';
    } else if constexpr (is_map<T>::value) {
      out_ += '{';
      bool first_key = true;
      for (const auto& [k, v] : in) {
        if (!first_key)
          out_ += ',';
        first_key = false;
        string(k);
        out_ += ':';
        value(v);
      }
      out_ += '}';
    } else if constexpr (has_fields_v<T>) {
      out_ += '{';
      bool first_member = true;
      members(in, first_member);
      out_ += '}';
    } else if constexpr (is_strong_id<T>::value) {
      string(in.str());
    } else if constexpr (is_wire_enum_v<T>) {
      string(enum_name(in));
    } else if constexpr (std::is_same_v<T, money>) {
      number(in.to_decimal());
    } else if constexpr (std::is_same_v<T, std::string>) {
      string(in);
    } else if constexpr (std::is_same_v<T, bool>) {
      out_ += in ? "true" : "false";
    } else if constexpr (std::is_integral_v<T>) {
      char buf[24];
      auto r = std::to_chars(buf, buf + sizeof buf, in);
      out_.append(buf, r.ptr);
    } else if constexpr (std::is_same_v<T, double>) {
      number(in);
    } else {
      static_assert(always_false_v<T>, "field type without a JSON mapping");
    }
  }

  void number(double x) {
    if (!std::isfinite(x)) {
      out_ += "null";
      return;
    }
    char buf[64];
    auto* end = nlohmann::detail::to_chars(buf, buf + sizeof buf, x);
    out_.append(buf, end);
  }

  std::string& out_;
};

template <class View, std::size_t I = 0>
bool read_body(reader<View>& rd, std::string_view type, const View& j, client_body& out) {
  if constexpr (I == std::variant_size_v<client_body>) {
    rd.err = core::make_error(core::errc::bad_request,
                              "unknown type '" + std::string{type} + "'");
    return false;
  } else {
    using T = std::variant_alternative_t<I, client_body>;
    if (T::type != type)
      return read_body<View, I + 1>(rd, type, j, out);
    T x;
    if (!rd.object(j, x, ""))
      return false;
    out = std::move(x);
    return true;
  }
}

template <class View>
core::result<envelope> decode_parsed(const View& j, std::string_view type) {
  envelope out;
  if (auto ref = j.member("ref")) {
    if (!ref->is_string())
      return core::make_error(core::errc::bad_request, "field 'ref': must be a string");
    out.ref = std::string{ref->str()};
  }
  reader<View> rd;
  if (!read_body(rd, type, j, out.body))
    return rd.err;
  return out;
}

/// The fast path of decode_json: simdjson, taken only where its answer is
/// nlohmann's. Anything else (malformed text, an error in the message, a
/// "-0" that nlohmann reads as a negative integer, a text over
/// fast_decode_bytes_max) returns nullopt and takes nlohmann's path, so
/// errors and edge cases read exactly as before. ~0.5 us instead of ~4 us
/// for a position.
std::optional<envelope> decode_fast(std::string_view text, std::string_view as_type) {
  if (text.size() > fast_decode_bytes_max || text.find("-0") != std::string_view::npos)
    return std::nullopt;
  thread_local simdjson::dom::parser parser{fast_decode_bytes_max};
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), true).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  sj_view j{root};
  if (!j.is_object())
    return std::nullopt;
  std::string_view type = as_type;
  if (type.empty()) {
    auto t = j.member("type");
    if (!t || !t->is_string())
      return std::nullopt;
    type = t->str();
  }
  auto r = decode_parsed(j, type);
  if (!r)
    return std::nullopt;
  return std::move(*r);
}

core::result<json> parse(std::string_view text) {
  json j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded())
    return core::make_error(core::errc::bad_request, "malformed JSON");
  if (!j.is_object())
    return core::make_error(core::errc::bad_request, "message: must be a JSON object");
  return j;
}

core::error internal_json_error(const std::exception& e) {
  // Only reachable through a bug here: the reader checks types before get().
  return core::make_error(core::errc::bad_request, std::string{"JSON: "} + e.what());
}

} // namespace

core::result<envelope> decode_json(std::string_view text) {
  if (auto fast = decode_fast(text, {}))
    return std::move(*fast);
  return detail::decode_json_reference(text);
}

std::optional<envelope> detail::decode_json_fast(std::string_view text) {
  return decode_fast(text, {});
}

core::result<envelope> detail::decode_json_reference(std::string_view text) {
  try {
    auto j = parse(text);
    if (!j)
      return j.err();
    auto it = j->find("type");
    if (it == j->end())
      return core::make_error(core::errc::bad_request, "field 'type': missing");
    if (!it->is_string())
      return core::make_error(core::errc::bad_request, "field 'type': must be a string");
    return decode_parsed(nl_view{*j}, std::string_view{it->get_ref<const std::string&>()});
  } catch (const nlohmann::json::exception& e) {
    return internal_json_error(e);
  }
}

core::result<envelope> decode_json_as(std::string_view type, std::string_view text) {
  if (!type.empty())
    if (auto fast = decode_fast(text, type))
      return std::move(*fast);
  try {
    auto j = parse(text);
    if (!j)
      return j.err();
    return decode_parsed(nl_view{*j}, type);
  } catch (const nlohmann::json::exception& e) {
    return internal_json_error(e);
  }
}

std::string encode_json(const envelope& in) {
  std::string out;
  out.reserve(encode_json_reserve_bytes);
  text_writer w{out};
  out += '{';
  bool first = true;
  w.key("type", first);
  w.string(type_of(in.body));
  std::visit([&](const auto& x) { w.members(x, first); }, in.body);
  if (!in.ref.empty()) {
    w.key("ref", first);
    w.string(in.ref);
  }
  out += '}';
  return out;
}

std::string ref_of_json(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return {};
  auto it = j.find("ref");
  if (it == j.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

} // namespace courier::msg
