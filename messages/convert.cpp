#include "messages/convert.hpp"

#include "core/assert.hpp"
#include "core/limits.hpp"
#include "messages/wire_traits.hpp"

#include "courier.pb.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <limits>
#include <type_traits>

namespace courier::msg {
namespace {

namespace pb = google::protobuf;
using fd_t = pb::FieldDescriptor;
using namespace detail;

/// The struct and the .proto disagree: a programmer error, caught by the
/// round-trip test of every message type.
void expect_kind(const fd_t* fd, fd_t::CppType kind, bool repeated) {
  COURIER_ASSERT(fd != nullptr);
  COURIER_ASSERT(fd->cpp_type() == kind);
  COURIER_ASSERT(fd->is_repeated() == repeated);
}

const fd_t* find_field(const pb::Message& m, const char* name) {
  const fd_t* fd = m.GetDescriptor()->FindFieldByName(name);
  COURIER_ASSERT(fd != nullptr);
  return fd;
}

/// Protobuf message -> struct, by field name (reflection). Shape checks only.
class reader {
public:
  core::error err;

  template <class T>
  bool object(const pb::Message& m, T& out, const std::string& path) {
    return T::visit_fields(out, [&](auto... fs) {
      return (value(m, find_field(m, fs.name), fs.value, join_path(path, fs.name)) && ...);
    });
  }

  template <class T>
  bool value(const pb::Message& m, const fd_t* fd, T& out, const std::string& path) {
    const pb::Reflection* r = m.GetReflection();
    if constexpr (is_optional<T>::value) {
      if (!r->HasField(m, fd)) {
        out.reset();
        return true;
      }
      typename T::value_type tmp{};
      if (!value(m, fd, tmp, path))
        return false;
      out = std::move(tmp);
      return true;
    } else if constexpr (is_vector<T>::value) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, true);
      int n = r->FieldSize(m, fd);
      out.clear();
      out.resize(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i)
        if (!object(r->GetRepeatedMessage(m, fd, i), out[static_cast<std::size_t>(i)],
                    path + "[" + std::to_string(i) + "]"))
          return false;
      return true;
    } else if constexpr (is_map<T>::value) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, true);
      out.clear();
      for (int i = 0, n = r->FieldSize(m, fd); i < n; ++i) {
        const pb::Message& entry = r->GetRepeatedMessage(m, fd, i);
        const pb::Reflection* er = entry.GetReflection();
        const fd_t* key = entry.GetDescriptor()->map_key();
        const fd_t* val = entry.GetDescriptor()->map_value();
        out[er->GetString(entry, key)] = er->GetUInt32(entry, val);
      }
      return true;
    } else if constexpr (has_fields_v<T>) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, false);
      if (!r->HasField(m, fd))
        return fail(path, "missing");
      return object(r->GetMessage(m, fd), out, path);
    } else {
      return scalar(m, r, fd, out, path);
    }
  }

private:
  template <class T>
  bool scalar(const pb::Message& m, const pb::Reflection* r, const fd_t* fd, T& out,
              const std::string& path) {
    if constexpr (std::is_same_v<T, std::string>) {
      expect_kind(fd, fd_t::CPPTYPE_STRING, false);
      out = r->GetString(m, fd);
    } else if constexpr (is_strong_id<T>::value) {
      expect_kind(fd, fd_t::CPPTYPE_STRING, false);
      out = T{r->GetString(m, fd)};
    } else if constexpr (is_wire_enum_v<T>) {
      expect_kind(fd, fd_t::CPPTYPE_STRING, false);
      std::string text = r->GetString(m, fd);
      auto parsed = enum_parse<T>(text);
      if (!parsed)
        return fail(path, "unknown value '" + text + "'");
      out = *parsed;
    } else if constexpr (std::is_same_v<T, bool>) {
      expect_kind(fd, fd_t::CPPTYPE_BOOL, false);
      out = r->GetBool(m, fd);
    } else if constexpr (std::is_same_v<T, std::uint32_t>) {
      expect_kind(fd, fd_t::CPPTYPE_UINT32, false);
      out = r->GetUInt32(m, fd);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      expect_kind(fd, fd_t::CPPTYPE_UINT64, false);
      out = r->GetUInt64(m, fd);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      expect_kind(fd, fd_t::CPPTYPE_INT64, false);
      out = r->GetInt64(m, fd);
    } else if constexpr (std::is_same_v<T, double>) {
      expect_kind(fd, fd_t::CPPTYPE_DOUBLE, false);
      out = r->GetDouble(m, fd);
    } else if constexpr (std::is_same_v<T, money>) {
      expect_kind(fd, fd_t::CPPTYPE_DOUBLE, false);
      auto amount = money::from_decimal(r->GetDouble(m, fd));
      if (!amount)
        return fail(path, "must be a finite amount");
      out = *amount;
    } else {
      static_assert(always_false_v<T>, "field type without a protobuf mapping");
    }
    return true;
  }

  bool fail(const std::string& path, const std::string& what) {
    err = core::make_error(core::errc::bad_request, "field '" + path + "': " + what);
    return false;
  }
};

/// Struct -> protobuf message, by field name (reflection).
class writer {
public:
  template <class T>
  void object(pb::Message& m, const T& in) {
    T::visit_fields(in, [&](auto... fs) { (value(m, find_field(m, fs.name), fs.value), ...); });
  }

  template <class T>
  void value(pb::Message& m, const fd_t* fd, const T& in) {
    const pb::Reflection* r = m.GetReflection();
    if constexpr (is_optional<T>::value) {
      if (in)
        value(m, fd, *in);
    } else if constexpr (is_vector<T>::value) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, true);
      for (const auto& x : in)
        object(*r->AddMessage(&m, fd), x);
    } else if constexpr (is_map<T>::value) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, true);
      for (const auto& [k, v] : in) {
        pb::Message* entry = r->AddMessage(&m, fd);
        const pb::Reflection* er = entry->GetReflection();
        er->SetString(entry, entry->GetDescriptor()->map_key(), k);
        er->SetUInt32(entry, entry->GetDescriptor()->map_value(), v);
      }
    } else if constexpr (has_fields_v<T>) {
      expect_kind(fd, fd_t::CPPTYPE_MESSAGE, false);
      object(*r->MutableMessage(&m, fd), in);
    } else if constexpr (std::is_same_v<T, std::string>) {
      r->SetString(&m, fd, in);
    } else if constexpr (is_strong_id<T>::value) {
      r->SetString(&m, fd, in.str());
    } else if constexpr (is_wire_enum_v<T>) {
      r->SetString(&m, fd, std::string{enum_name(in)});
    } else if constexpr (std::is_same_v<T, bool>) {
      r->SetBool(&m, fd, in);
    } else if constexpr (std::is_same_v<T, std::uint32_t>) {
      r->SetUInt32(&m, fd, in);
    } else if constexpr (std::is_same_v<T, std::uint64_t>) {
      r->SetUInt64(&m, fd, in);
    } else if constexpr (std::is_same_v<T, std::int64_t>) {
      r->SetInt64(&m, fd, in);
    } else if constexpr (std::is_same_v<T, double>) {
      r->SetDouble(&m, fd, in);
    } else if constexpr (std::is_same_v<T, money>) {
      r->SetDouble(&m, fd, in.to_decimal());
    } else {
      static_assert(always_false_v<T>, "field type without a protobuf mapping");
    }
  }
};

/// Finds the alternative of client_body named `type` and reads it.
template <std::size_t I = 0>
bool read_body(reader& rd, const std::string& type, const pb::Message& sub,
               client_body& out) {
  if constexpr (I == std::variant_size_v<client_body>) {
    rd.err = core::make_error(core::errc::bad_request, "unknown type '" + type + "'");
    return false;
  } else {
    using T = std::variant_alternative_t<I, client_body>;
    if (T::type != type)
      return read_body<I + 1>(rd, type, sub, out);
    T x;
    if (!rd.object(sub, x, ""))
      return false;
    out = std::move(x);
    return true;
  }
}

} // namespace

core::result<envelope> from_proto(const courier::v1::Envelope& in) {
  const pb::OneofDescriptor* body = in.GetDescriptor()->FindOneofByName("body");
  COURIER_ASSERT(body != nullptr);
  const fd_t* set = in.GetReflection()->GetOneofFieldDescriptor(in, body);
  if (set == nullptr)
    return core::make_error(core::errc::bad_request, "missing message body (no type)");
  envelope out;
  out.ref = in.ref();
  reader rd;
  if (!read_body(rd, set->name(), in.GetReflection()->GetMessage(in, set), out.body))
    return rd.err;
  return out;
}

courier::v1::Envelope to_proto(const envelope& in) {
  courier::v1::Envelope out;
  out.set_ref(in.ref);
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        const fd_t* fd = out.GetDescriptor()->FindFieldByName(std::string{T::type});
        expect_kind(fd, fd_t::CPPTYPE_MESSAGE, false);
        writer{}.object(*out.GetReflection()->MutableMessage(&out, fd), x);
      },
      in.body);
  return out;
}

core::result<envelope> decode_binary(const void* data, std::size_t size) {
  if (size > core::limits::frame_bytes_max)
    return core::make_error(core::errc::bad_request, "frame too large");
  courier::v1::Envelope env;
  if (!env.ParseFromArray(data, static_cast<int>(size)))
    return core::make_error(core::errc::bad_request, "malformed protobuf Envelope");
  return from_proto(env);
}

std::string encode_binary(const envelope& in) {
  std::string out;
  bool ok = to_proto(in).SerializeToString(&out);
  COURIER_ASSERT(ok);
  return out;
}

} // namespace courier::msg
