#pragma once
/// \file
/// Journal events of the order-side entities (order, payment, store,
/// reminder, delays) and of regions, and their encoding. No CAF here.
///
/// Encoding: protobuf, one message per event type in the schema
/// messages/proto/journal.proto (package courier.journal.v1; the generated
/// header is included only by journal_events.cpp). The structs below are
/// the internal types; journal.proto mirrors them field by field (rider and
/// dispatch events are encoded the same way, in rider_state.cpp and
/// dispatch_state.cpp). Every field is written; proto3 omits defaults, so a
/// record stays small. Decoding never throws: a record that does not parse,
/// or whose enum is missing or unknown, is an `internal` error value.

#include "actors/order_state.hpp"
#include "core/result.hpp"
#include "messages/client.hpp"
#include "messages/domain.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace courier::actors {

/// order:<id> events (order_event lives in order_state.hpp).
std::string encode(const order_event& ev);
core::result<order_event> decode_order_event(const std::string& bytes);

/// A finished order's final state for the archive (ArchivedOrder): id,
/// customer, request, store, rider, status, version, total and times. The
/// rest of order_data is left at its defaults by decoding.
std::string encode_archived_order(const order_data& d);
core::result<order_data> decode_archived_order(const std::string& bytes);

/// payment:<order_id>: an op was requested, or its final outcome.
struct payment_event {
  enum class kind : std::uint8_t { requested, outcome };
  kind what = kind::requested;
  std::string op_id;
  std::uint8_t op = 0;       ///< actors::payment_op
  std::int64_t amount_minor = 0;
  std::string reply_kind;    ///< entity_ref of whom to tell the outcome
  std::string reply_key;
  std::uint8_t outcome = 0;  ///< actors::payment_outcome
};
std::string encode(const payment_event& ev);
core::result<payment_event> decode_payment_event(const std::string& bytes);

/// An order as its store records it: what the store's sessions are owed
/// (new_order, the latest order_status, rider_arriving).
struct store_order {
  msg::new_order order; ///< id, items, total
  msg::order_status status = msg::order_status::paid;
  std::uint64_t version = 0;
  std::int64_t at_ms = 0; ///< when it took `status`
  bool arriving = false;  ///< a rider is about to pick it up
  std::uint32_t arriving_eta_s = 0;

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, store_order& x) {
    return f(x.order, x.status, x.version, x.at_ms, x.arriving, x.arriving_eta_s);
  }
};

/// store:<id>: created/updated by an admin, a radius trigger applied, or an
/// order's latest state recorded (an ended order is closed).
struct store_event {
  enum class kind : std::uint8_t { upserted, trigger, order };
  kind what = kind::upserted;
  double lat = 0.0;
  double lng = 0.0;
  std::int64_t base_radius_m = 0;
  bool open = false;
  msg::radius_trigger_kind trigger = msg::radius_trigger_kind::manual;
  std::int64_t trigger_radius_m = 0;
  store_order order; ///< kind order
};
std::string encode(const store_event& ev);
core::result<store_event> decode_store_event(const std::string& bytes);

/// A snapshot of store:<id>: the events that rebuild it, and the radius
/// each trigger kind holds (radius_policy::held()).
struct store_snapshot_record {
  std::vector<store_event> events;
  std::array<std::int64_t, 5> held{};
};
std::string encode_store_snapshot(const store_snapshot_record& snap);
core::result<store_snapshot_record> decode_store_snapshot(const std::string& bytes);

/// reminder:<shard>: a timer set, cancelled, or fired (and so removed).
struct reminder_event {
  enum class kind : std::uint8_t { set, cancel, fired };
  kind what = kind::set;
  std::string target_kind;
  std::string target_key;
  std::string tag;
  core::time_ms due_ms = 0;
  /// A set the shard itself wrote to try an unanswered fire again: how
  /// many fires went unanswered (0 for a target's own set).
  std::uint32_t tries = 0;
};
std::string encode(const reminder_event& ev);
core::result<reminder_event> decode_reminder_event(const std::string& bytes);
/// A shard's timers (each a `set`).
std::string encode_reminder_snapshot(const std::vector<reminder_event>& timers);
core::result<std::vector<reminder_event>> decode_reminder_snapshot(const std::string& bytes);

/// delays:all: an order is late (or changed status while late), or finished.
struct delays_event {
  enum class kind : std::uint8_t { upsert, remove };
  kind what = kind::upsert;
  std::string order_id;
  msg::order_status status = msg::order_status::placed;
  core::time_ms placed_at_ms = 0;
};
std::string encode(const delays_event& ev);
core::result<delays_event> decode_delays_event(const std::string& bytes);

/// A snapshot of delays:all (the list of upserts that make up its state).
std::string encode_delays_snapshot(const std::vector<delays_event>& entries);
core::result<std::vector<delays_event>> decode_delays_snapshot(const std::string& bytes);

/// region:<cell>: split into its children, merged back, or a radius trigger.
struct region_event {
  enum class kind : std::uint8_t { split, merged, radius };
  kind what = kind::split;
  msg::radius_trigger_kind trigger = msg::radius_trigger_kind::manual; ///< radius
  std::int64_t radius_m = 0;                                           ///< radius
};
std::string encode(const region_event& ev);
core::result<region_event> decode_region_event(const std::string& bytes);

} // namespace courier::actors
