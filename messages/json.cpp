#include "messages/json.hpp"

#include "messages/wire_traits.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <limits>
#include <type_traits>

namespace courier::msg {
namespace {

/// Bytes reserved up front for an encoded message: a push fits, so the
/// usual encode is one allocation.
constexpr std::size_t encode_json_reserve_bytes = 256;

using json = nlohmann::json;
using namespace detail;

/// JSON value -> struct. Shape checks only; the first error wins.
class reader {
public:
  core::error err;

  template <class T>
  bool object(const json& j, T& out, const std::string& path) {
    if (!j.is_object())
      return fail(path.empty() ? std::string{"message"} : "field '" + path + "'",
                  "must be an object");
    return T::visit_fields(out, [&](auto... fs) { return (member(j, fs, path) && ...); });
  }

private:
  template <class T>
  bool member(const json& j, field<T> f, const std::string& path) {
    std::string at = join_path(path, f.name);
    auto it = j.find(f.name);
    bool absent = it == j.end() || it->is_null();
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
  bool value(const json& j, T& out, const std::string& at) {
    if constexpr (is_vector<T>::value) {
      if (!j.is_array())
        return wrong(at, "an array");
      out.resize(j.size());
      for (std::size_t i = 0; i < j.size(); ++i)
        if (!object(j[i], out[i], at + "[" + std::to_string(i) + "]"))
          return false;
      return true;
    } else if constexpr (is_map<T>::value) {
      if (!j.is_object())
        return wrong(at, "an object");
      for (const auto& [k, v] : j.items())
        if (!value(v, out[k], at + "." + k))
          return false;
      return true;
    } else if constexpr (has_fields_v<T>) {
      return object(j, out, at);
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!j.is_string())
        return wrong(at, "a string");
      out = j.get_ref<const std::string&>();
      return true;
    } else if constexpr (is_strong_id<T>::value) {
      if (!j.is_string())
        return wrong(at, "a string");
      out = T{j.get_ref<const std::string&>()};
      return true;
    } else if constexpr (is_wire_enum_v<T>) {
      if (!j.is_string())
        return wrong(at, "a string");
      const auto& text = j.get_ref<const std::string&>();
      auto parsed = enum_parse<T>(text);
      if (!parsed)
        return fail("field '" + at + "'", "unknown value '" + text + "'");
      out = *parsed;
      return true;
    } else if constexpr (std::is_same_v<T, bool>) {
      if (!j.is_boolean())
        return wrong(at, "a boolean");
      out = j.get<bool>();
      return true;
    } else if constexpr (std::is_integral_v<T>) {
      return integer(j, out, at);
    } else if constexpr (std::is_same_v<T, double>) {
      if (!j.is_number())
        return wrong(at, "a number");
      out = j.get<double>();
      return true;
    } else if constexpr (std::is_same_v<T, money>) {
      if (!j.is_number())
        return wrong(at, "a number");
      auto amount = money::from_decimal(j.get<double>());
      if (!amount)
        return fail("field '" + at + "'", "must be a finite amount");
      out = *amount;
      return true;
    } else {
      static_assert(always_false_v<T>, "field type without a JSON mapping");
    }
  }

  template <class Int>
  bool integer(const json& j, Int& out, const std::string& at) {
    using lim = std::numeric_limits<Int>;
    if (j.is_number_unsigned()) {
      auto v = j.get<std::uint64_t>();
      if (v > static_cast<std::uint64_t>(lim::max()))
        return fail("field '" + at + "'", "out of range");
      out = static_cast<Int>(v);
      return true;
    }
    if (j.is_number_integer()) { // negative (non-negative ones are unsigned)
      auto v = j.get<std::int64_t>();
      if (!lim::is_signed)
        return fail("field '" + at + "'", "must not be negative");
      out = static_cast<Int>(v);
      return true;
    }
    if (j.is_number_float()) {
      double v = j.get<double>();
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
    if (!valid_utf8(s)) {
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

  /// RFC 3629 UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
  static bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
      auto c = static_cast<unsigned char>(s[i]);
      if (c < 0x80) {
        ++i;
        continue;
      }
      std::size_t n;
      unsigned char lo = 0x80, hi = 0xBF; // bounds of the second byte
      if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
      } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
      } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
      } else {
        return false;
      }
      if (i + n >= s.size()) // truncated sequence
        return false;
      auto b1 = static_cast<unsigned char>(s[i + 1]);
      if (b1 < lo || b1 > hi)
        return false;
      for (std::size_t k = 2; k <= n; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if (b < 0x80 || b > 0xBF)
          return false;
      }
      i += n + 1;
    }
    return true;
  }

  std::string& out_;
};

template <std::size_t I = 0>
bool read_body(reader& rd, std::string_view type, const json& j, client_body& out) {
  if constexpr (I == std::variant_size_v<client_body>) {
    rd.err = core::make_error(core::errc::bad_request,
                              "unknown type '" + std::string{type} + "'");
    return false;
  } else {
    using T = std::variant_alternative_t<I, client_body>;
    if (T::type != type)
      return read_body<I + 1>(rd, type, j, out);
    T x;
    if (!rd.object(j, x, ""))
      return false;
    out = std::move(x);
    return true;
  }
}

core::result<envelope> decode_parsed(const json& j, std::string_view type) {
  envelope out;
  if (auto it = j.find("ref"); it != j.end() && !it->is_null()) {
    if (!it->is_string())
      return core::make_error(core::errc::bad_request, "field 'ref': must be a string");
    out.ref = it->get<std::string>();
  }
  reader rd;
  if (!read_body(rd, type, j, out.body))
    return rd.err;
  return out;
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
  try {
    auto j = parse(text);
    if (!j)
      return j.err();
    auto it = j->find("type");
    if (it == j->end())
      return core::make_error(core::errc::bad_request, "field 'type': missing");
    if (!it->is_string())
      return core::make_error(core::errc::bad_request, "field 'type': must be a string");
    return decode_parsed(*j, it->get_ref<const std::string&>());
  } catch (const nlohmann::json::exception& e) {
    return internal_json_error(e);
  }
}

core::result<envelope> decode_json_as(std::string_view type, std::string_view text) {
  try {
    auto j = parse(text);
    if (!j)
      return j.err();
    return decode_parsed(*j, type);
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
