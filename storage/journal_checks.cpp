#include "storage/journal_checks.hpp"

#include "core/limits.hpp"
#include "storage/record_format.hpp"

namespace courier::storage {
namespace {

using core::errc;
using core::make_error;

core::result<core::unit_t> check_record_size(const std::string& stream, record_kind kind,
                                             std::size_t payload_bytes) {
  const std::size_t bytes = record_bytes(stream.size(), payload_bytes);
  if (bytes > record_bytes_max(kind))
    return make_error(errc::bad_request,
                      std::string{"journal "} +
                          (kind == record_kind::snapshot ? "snapshot" : "record") +
                          " for stream '" + stream + "' is " + std::to_string(bytes) +
                          " bytes, limit " + std::to_string(record_bytes_max(kind)));
  return core::unit;
}

} // namespace

core::result<core::unit_t> check_stream_name(const std::string& stream) {
  if (stream.empty())
    return make_error(errc::bad_request, "journal stream name is empty");
  if (stream.size() > stream_name_bytes_max)
    return make_error(errc::bad_request,
                      "journal stream name is " + std::to_string(stream.size()) +
                          " bytes, limit " +
                          std::to_string(stream_name_bytes_max));
  return core::unit;
}

core::result<core::unit_t> check_append_shape(const append_request& req) {
  if (auto ok = check_stream_name(req.stream); !ok)
    return ok;
  if (req.events.empty())
    return make_error(errc::bad_request,
                      "journal append to '" + req.stream + "' has no events");
  if (req.events.size() > core::limits::journal_events_per_append_max)
    return make_error(
        errc::bad_request,
        "journal append to '" + req.stream + "' has " +
            std::to_string(req.events.size()) + " events, limit " +
            std::to_string(core::limits::journal_events_per_append_max));
  for (const auto& event : req.events)
    if (auto ok = check_record_size(req.stream, record_kind::event, event.size()); !ok)
      return ok;
  return core::unit;
}

core::result<core::unit_t> check_expected(const std::string& stream,
                                          version_t expected,
                                          version_t current) {
  if (expected != current)
    return make_error(errc::conflict,
                      "journal stream '" + stream + "' is at version " +
                          std::to_string(current) + ", append expected " +
                          std::to_string(expected));
  return core::unit;
}

core::result<core::unit_t> check_snapshot(const std::string& stream,
                                          version_t version,
                                          std::size_t payload_bytes,
                                          version_t current,
                                          std::optional<version_t> latest) {
  if (auto ok = check_stream_name(stream); !ok)
    return ok;
  if (auto ok = check_record_size(stream, record_kind::snapshot, payload_bytes); !ok)
    return ok;
  if (version > current)
    return make_error(errc::bad_request,
                      "snapshot of '" + stream + "' at version " +
                          std::to_string(version) + " is past its version " +
                          std::to_string(current));
  if (latest && version < *latest)
    return make_error(errc::conflict,
                      "snapshot of '" + stream + "' at version " +
                          std::to_string(version) + " is older than its " +
                          "snapshot at " + std::to_string(*latest));
  return core::unit;
}

} // namespace courier::storage
