#include "actors/journal_events.hpp"

#include <nlohmann/json.hpp>

namespace courier::actors {

using json = nlohmann::json;

namespace {

/// Reads `key` as T, or `fallback` when absent or of the wrong type.
template <class T>
T get(const json& j, const char* key, T fallback = T{}) {
  auto it = j.find(key);
  if (it == j.end())
    return fallback;
  if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->template get<bool>() : fallback;
  } else {
    return it->is_number() ? it->template get<T>() : fallback;
  }
}

core::result<json> parse(const std::string& bytes) {
  auto j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("t"))
    return core::error{core::errc::internal, "corrupt journal record"};
  return j;
}

json encode_point(geo_point p) { return json::array({p.lat, p.lng}); }

geo_point decode_point(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_number() ||
      !(*it)[1].is_number())
    return {};
  return {(*it)[0].get<double>(), (*it)[1].get<double>()};
}

json encode_lines(const std::vector<order_line>& lines) {
  auto out = json::array();
  for (auto& l : lines)
    out.push_back(json::array({l.sku, l.qty, l.price_minor}));
  return out;
}

std::vector<order_line> decode_lines(const json& j) {
  std::vector<order_line> out;
  auto it = j.find("lines");
  if (it == j.end() || !it->is_array())
    return out;
  for (auto& l : *it) {
    if (!l.is_array() || l.size() != 3 || !l[0].is_string() || !l[1].is_number() ||
        !l[2].is_number())
      continue;
    out.push_back({l[0].get<std::string>(), l[1].get<std::uint32_t>(),
                   l[2].get<std::int64_t>()});
  }
  return out;
}

} // namespace

std::string encode(const order_event& ev) {
  using K = order_event::kind;
  json j{{"t", static_cast<int>(ev.what)}};
  switch (ev.what) {
    case K::placed:
      j["c"] = ev.customer_id;
      j["r"] = ev.request_id;
      j["s"] = ev.store_id;
      j["lines"] = encode_lines(ev.lines);
      j["total"] = ev.total_minor;
      j["drop"] = encode_point(ev.dropoff);
      j["at_store"] = encode_point(ev.store_at);
      j["cell"] = ev.store_cell;
      j["radius"] = ev.store_radius_m;
      j["at"] = ev.at_ms;
      break;
    case K::status:
      j["to"] = static_cast<int>(ev.to);
      j["at"] = ev.at_ms;
      if (!ev.reason.empty())
        j["why"] = ev.reason;
      break;
    case K::assigned:
      j["rider"] = ev.rider_id;
      j["offer"] = ev.offer_id;
      j["at"] = ev.at_ms;
      break;
    case K::payment:
      j["step"] = static_cast<int>(ev.step);
      j["out"] = static_cast<int>(ev.outcome);
      break;
    case K::effect_done:
      j["e"] = ev.effect;
      break;
    case K::nearby:
      j["d"] = ev.distance_m;
      break;
    case K::arriving:
    case K::alerted:
      break;
  }
  return j.dump();
}

core::result<order_event> decode_order_event(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  const json& j = *parsed;
  order_event ev;
  auto t = get<int>(j, "t", -1);
  if (t < 0 || t > static_cast<int>(order_event::kind::alerted))
    return core::error{core::errc::internal, "unknown order event"};
  ev.what = static_cast<order_event::kind>(t);
  ev.customer_id = get<std::string>(j, "c");
  ev.request_id = get<std::string>(j, "r");
  ev.store_id = get<std::string>(j, "s");
  ev.lines = decode_lines(j);
  ev.total_minor = get<std::int64_t>(j, "total");
  ev.dropoff = decode_point(j, "drop");
  ev.store_at = decode_point(j, "at_store");
  ev.store_cell = get<std::string>(j, "cell");
  ev.store_radius_m = get<std::int64_t>(j, "radius");
  ev.at_ms = get<std::int64_t>(j, "at");
  ev.to = static_cast<msg::order_status>(get<int>(j, "to"));
  ev.reason = get<std::string>(j, "why");
  ev.rider_id = get<std::string>(j, "rider");
  ev.offer_id = get<std::string>(j, "offer");
  ev.step = static_cast<pay_step>(get<int>(j, "step"));
  ev.outcome = static_cast<pay_outcome>(get<int>(j, "out"));
  ev.effect = get<std::uint8_t>(j, "e");
  ev.distance_m = get<double>(j, "d");
  if (ev.to > msg::order_status::cancelled || ev.effect >= order_effect_count)
    return core::error{core::errc::internal, "order event out of range"};
  return ev;
}

std::string encode(const payment_event& ev) {
  json j{{"t", static_cast<int>(ev.what)}, {"op_id", ev.op_id}};
  if (ev.what == payment_event::kind::requested) {
    j["op"] = ev.op;
    j["amount"] = ev.amount_minor;
    j["rk"] = ev.reply_kind;
    j["rkey"] = ev.reply_key;
  } else {
    j["out"] = ev.outcome;
  }
  return j.dump();
}

core::result<payment_event> decode_payment_event(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  const json& j = *parsed;
  payment_event ev;
  ev.what = get<int>(j, "t") == 0 ? payment_event::kind::requested
                                  : payment_event::kind::outcome;
  ev.op_id = get<std::string>(j, "op_id");
  ev.op = get<std::uint8_t>(j, "op");
  ev.amount_minor = get<std::int64_t>(j, "amount");
  ev.reply_kind = get<std::string>(j, "rk");
  ev.reply_key = get<std::string>(j, "rkey");
  ev.outcome = get<std::uint8_t>(j, "out");
  if (ev.op_id.empty() || ev.op > 3 || ev.outcome > 2)
    return core::error{core::errc::internal, "corrupt payment event"};
  return ev;
}

std::string encode(const store_event& ev) {
  json j{{"t", static_cast<int>(ev.what)}};
  if (ev.what == store_event::kind::upserted) {
    j["lat"] = ev.lat;
    j["lng"] = ev.lng;
    j["radius"] = ev.base_radius_m;
    j["open"] = ev.open;
  } else {
    j["trigger"] = static_cast<int>(ev.trigger);
    j["radius"] = ev.trigger_radius_m;
  }
  return j.dump();
}

core::result<store_event> decode_store_event(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  const json& j = *parsed;
  store_event ev;
  ev.what = get<int>(j, "t") == 0 ? store_event::kind::upserted
                                  : store_event::kind::trigger;
  ev.lat = get<double>(j, "lat");
  ev.lng = get<double>(j, "lng");
  ev.open = get<bool>(j, "open");
  auto trigger = get<int>(j, "trigger");
  if (trigger < 0 || trigger > static_cast<int>(msg::radius_trigger_kind::restore))
    return core::error{core::errc::internal, "corrupt store event"};
  ev.trigger = static_cast<msg::radius_trigger_kind>(trigger);
  if (ev.what == store_event::kind::upserted)
    ev.base_radius_m = get<std::int64_t>(j, "radius");
  else
    ev.trigger_radius_m = get<std::int64_t>(j, "radius");
  return ev;
}

std::string encode(const reminder_event& ev) {
  json j{{"t", static_cast<int>(ev.what)},
         {"k", ev.target_kind},
         {"key", ev.target_key},
         {"tag", ev.tag}};
  if (ev.what == reminder_event::kind::set)
    j["due"] = ev.due_ms;
  return j.dump();
}

core::result<reminder_event> decode_reminder_event(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  const json& j = *parsed;
  reminder_event ev;
  auto t = get<int>(j, "t", -1);
  if (t < 0 || t > 2)
    return core::error{core::errc::internal, "corrupt reminder event"};
  ev.what = static_cast<reminder_event::kind>(t);
  ev.target_kind = get<std::string>(j, "k");
  ev.target_key = get<std::string>(j, "key");
  ev.tag = get<std::string>(j, "tag");
  ev.due_ms = get<std::int64_t>(j, "due");
  return ev;
}

namespace {
json delays_json(const delays_event& ev) {
  json j{{"t", static_cast<int>(ev.what)}, {"o", ev.order_id}};
  if (ev.what == delays_event::kind::upsert) {
    j["st"] = static_cast<int>(ev.status);
    j["at"] = ev.placed_at_ms;
  }
  return j;
}
delays_event delays_from_json(const json& j) {
  delays_event ev;
  ev.what = get<int>(j, "t") == 0 ? delays_event::kind::upsert
                                  : delays_event::kind::remove;
  ev.order_id = get<std::string>(j, "o");
  auto st = get<int>(j, "st");
  ev.status = st >= 0 && st <= static_cast<int>(msg::order_status::cancelled)
                  ? static_cast<msg::order_status>(st)
                  : msg::order_status::placed;
  ev.placed_at_ms = get<std::int64_t>(j, "at");
  return ev;
}
} // namespace

std::string encode(const delays_event& ev) { return delays_json(ev).dump(); }

core::result<delays_event> decode_delays_event(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  return delays_from_json(*parsed);
}

std::string encode_delays_snapshot(const std::vector<delays_event>& entries) {
  json j{{"t", "snap"}, {"list", json::array()}};
  for (auto& e : entries)
    j["list"].push_back(delays_json(e));
  return j.dump();
}

core::result<std::vector<delays_event>> decode_delays_snapshot(const std::string& bytes) {
  auto parsed = parse(bytes);
  if (!parsed)
    return parsed.err();
  std::vector<delays_event> out;
  auto it = parsed->find("list");
  if (it == parsed->end() || !it->is_array())
    return core::error{core::errc::internal, "corrupt delays snapshot"};
  for (auto& e : *it)
    if (e.is_object())
      out.push_back(delays_from_json(e));
  return out;
}

} // namespace courier::actors
