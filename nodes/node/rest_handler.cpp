#include "nodes/node/rest_handler.hpp"

#include "actors/protocol.hpp"
#include "geo/indexing.hpp"
#include "geo/traversal.hpp"
#include "messages/json.hpp"
#include "messages/validate.hpp"
#include "core/limits.hpp"
#include "nodes/auth/token.hpp"
#include "nodes/node/command_map.hpp"
#include "nodes/node/gateway_actor.hpp"
#include "nodes/node/metrics.hpp"

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdlib>

namespace courier::node {
namespace {

using core::errc;
using json = nlohmann::json;

/// Never throws: messages may echo request bytes (a path is not UTF-8 just
/// because HTTP allows the bytes), so invalid UTF-8 becomes U+FFFD, as in
/// msg::encode_json. A strict dump threw on `GET /\xff` and the uncaught
/// exception ended the node (found by fuzz/rest_request).
gateway::http_response json_response(int status, const json& body) {
  gateway::http_response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

gateway::http_response error_response(const core::error& e) {
  return json_response(core::http_status(e.code),
                       json{{"type", "error"},
                            {"code", std::string{core::to_string(e.code)}},
                            {"message", e.message}});
}

/// The message's JSON without "type"/"ref": REST bodies are bare objects.
json body_json(const msg::envelope& env) {
  auto j = json::parse(msg::encode_json(env), nullptr, false);
  if (j.is_object()) {
    j.erase("type");
    j.erase("ref");
  }
  return j;
}

/// Answers one REST call: shapes the entity's reply into a response.
class rest_sink final : public reply_sink {
public:
  using shaper = std::function<gateway::http_response(const msg::envelope&)>;
  rest_sink(gateway::responder respond, shaper shape, node_metrics* metrics)
      : respond_(std::move(respond)), shape_(std::move(shape)), metrics_(metrics) {}
  void deliver(msg::envelope env) override {
    if (auto* e = std::get_if<msg::error_reply>(&env.body)) {
      fail(core::error{e->code, e->message}, "");
      return;
    }
    respond_(shape_(env));
  }
  void deliver_view(const actors::order_view& v) override {
    json j{{"order_id", v.order_id.str()},
           {"status", std::string{msg::to_string(v.status)}},
           {"version", v.version},
           {"payment", v.payment}};
    if (!v.rider_id.empty())
      j["rider_id"] = v.rider_id;
    if (v.eta_s != actors::none_i64)
      j["eta_s"] = v.eta_s;
    respond_(json_response(200, j));
  }
  void fail(const core::error& err, const std::string&) override {
    metrics_->error(err.code);
    respond_(error_response(err));
  }

private:
  gateway::responder respond_;
  shaper shape_;
  node_metrics* metrics_;
};

/// The route a /v1/ request is counted under (its id not checked here).
node_metrics::rest_route rest_route_of(const std::string& method, const std::string& path) {
  using r = node_metrics::rest_route;
  auto under = [&](std::string_view prefix) { return path.rfind(prefix, 0) == 0; };
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (method == "POST" && path == "/v1/orders")
    return r::orders_post;
  if (method == "GET" && path == "/v1/cells")
    return r::cells_get;
  if (method == "GET" && under("/v1/orders/"))
    return r::order_get;
  if (method == "PUT" && under("/v1/stores/"))
    return r::store_put;
  if (method == "GET" && under("/v1/riders/") && ends("/history"))
    return r::rider_history_get;
  if (method == "GET" && under("/v1/regions/") && ends("/stats"))
    return r::region_stats_get;
  return r::other;
}

/// "/v1/orders/o-1" with prefix "/v1/orders/" -> "o-1" (no further '/').
std::optional<std::string> tail(const std::string& path, const std::string& prefix,
                                const std::string& suffix = "") {
  if (path.rfind(prefix, 0) != 0 || path.size() <= prefix.size() + suffix.size())
    return std::nullopt;
  if (!suffix.empty() && path.compare(path.size() - suffix.size(), suffix.size(), suffix))
    return std::nullopt;
  auto mid = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (mid.find('/') != std::string::npos)
    return std::nullopt;
  return mid;
}

std::optional<std::string> query_param(const std::string& query, const std::string& key) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto end = query.find('&', pos);
    auto part = query.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (part.rfind(key + "=", 0) == 0)
      return part.substr(key.size() + 1);
    if (end == std::string::npos)
      break;
    pos = end + 1;
  }
  return std::nullopt;
}

/// Latest time a history query may name: the year 9999, so `from - 1 h`
/// and `to + retention` stay far from overflowing.
constexpr core::time_ms history_ms_max = 253'402'300'799'999;
/// The range asked for when a query names no `from`.
constexpr core::time_ms history_default_range_ms = 3'600'000;

/// A query parameter in milliseconds since the epoch, or `fallback` when
/// absent; nullopt when present but not an integer in [0, history_ms_max].
std::optional<core::time_ms> ms_param(const std::string& query, const std::string& key,
                                      core::time_ms fallback) {
  auto text = query_param(query, key);
  if (!text)
    return fallback;
  core::time_ms v = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || end != text->data() + text->size() || v < 0 || v > history_ms_max)
    return std::nullopt;
  return v;
}

json history_json(const std::string& rider, storage::history_detail detail,
                  const actors::history_reply& r) {
  json points = json::array();
  for (auto& s : r.samples) {
    json p{{"at_ms", s.at_ms}, {"lat", s.lat}, {"lng", s.lng}};
    if (detail == storage::history_detail::minute)
      p["count"] = s.count;
    points.push_back(std::move(p));
  }
  return json{{"rider_id", rider},
              {"detail", std::string{storage::to_string(detail)}},
              {"from", r.from_ms},
              {"to", r.to_ms},
              {"points", std::move(points)},
              {"truncated", r.truncated}};
}

} // namespace

struct rest_handler::impl {
  std::string secret;
  const core::clock& clock;
  caf::actor gateway_actor;
  std::shared_ptr<node_metrics> metrics;
  metrics_source metrics_text;
  std::unique_ptr<rest_limiter> limiter; ///< thread-safe; every IO thread calls it
  history_source history_of;

  core::result<actors::caller> authenticate(const gateway::http_request& req) {
    auto token = req.bearer_token();
    if (!token)
      return core::error{errc::unauthorized, "missing Authorization: Bearer token"};
    auto claims = auth::verify_token(*token, secret, clock.now_ms());
    if (!claims)
      return claims.err();
    return actors::caller{*msg::role_from_string(claims->role), claims->id};
  }

  /// Routes a decoded message like a WebSocket request would be.
  void call(const actors::caller& who, msg::envelope env, gateway::responder respond,
            rest_sink::shaper shape) {
    if (auto ok = msg::validate(env); !ok) {
      respond(error_response(ok.err()));
      return;
    }
    auto routed = route_command(who, env.body);
    if (!routed) {
      respond(error_response(routed.err()));
      return;
    }
    send(*routed, std::make_shared<rest_sink>(std::move(respond), std::move(shape),
                                              metrics.get()));
  }

  void send(routed_command& routed, std::shared_ptr<reply_sink> sink) {
    client_call c;
    c.sink = std::move(sink);
    c.target = std::move(routed.target);
    c.command = std::move(routed.command);
    c.kind = routed.kind;
    caf::anon_send(gateway_actor, call_atom::value, std::move(c));
  }

  void cells(const gateway::http_request& req, const gateway::responder& respond);
  void history(const gateway::http_request& req, const std::string& rider,
               const gateway::responder& respond);
  void dispatch(gateway::http_request& req, gateway::responder respond);
};

namespace {

/// Cells one `GET /v1/cells?cells=` may name: a split res-7 cell has at
/// most 49 leaves (region_stats.split_cells lists at most 64).
constexpr std::size_t cells_per_query_max = 64;

/// `[{cell, boundary: [[lat, lng], ...]}]` for `cells`.
json cells_json(const std::vector<geo::cell>& cells) {
  json out = json::array();
  for (auto c : cells) {
    json boundary = json::array();
    if (auto b = geo::cell_to_boundary(c))
      for (auto& v : *b)
        boundary.push_back({v.lat_deg, v.lng_deg});
    out.push_back({{"cell", geo::cell_to_string(c)}, {"boundary", boundary}});
  }
  return out;
}

} // namespace

void rest_handler::impl::cells(const gateway::http_request& req,
                               const gateway::responder& respond) {
  if (auto listed = query_param(req.query, "cells")) {
    // The live map asks for the boundaries of split cells (res 8/9) it
    // learns from region_stats.split_cells.
    std::vector<geo::cell> cells;
    std::size_t from = 0;
    while (from <= listed->size()) {
      auto comma = listed->find(',', from);
      auto text = listed->substr(from, comma == std::string::npos ? std::string::npos
                                                                  : comma - from);
      auto c = geo::string_to_cell(text);
      if (!c) {
        respond(error_response({errc::bad_request, "cells: '" + text + "' is not an H3 cell"}));
        return;
      }
      if (cells.size() == cells_per_query_max) {
        respond(error_response({errc::bad_request, "cells: at most " +
                                                       std::to_string(cells_per_query_max)}));
        return;
      }
      cells.push_back(*c);
      if (comma == std::string::npos)
        break;
      from = comma + 1;
    }
    respond(json_response(200, json{{"cells", cells_json(cells)}}));
    return;
  }
  auto lat = query_param(req.query, "lat");
  auto lng = query_param(req.query, "lng");
  auto k_text = query_param(req.query, "k").value_or("2");
  int k = std::atoi(k_text.c_str());
  if (!lat || !lng || k < 0 || k > 10) {
    respond(error_response({errc::bad_request, "need lat, lng and k in 0..10"}));
    return;
  }
  auto origin = geo::lat_lng_to_cell(std::atof(lat->c_str()), std::atof(lng->c_str()), 7);
  if (!origin) {
    respond(error_response(origin.err()));
    return;
  }
  auto disk = geo::grid_disk(*origin, k);
  if (!disk) {
    respond(error_response(disk.err()));
    return;
  }
  respond(json_response(200, json{{"cells", cells_json(*disk)}}));
}

void rest_handler::impl::history(const gateway::http_request& req, const std::string& rider,
                                 const gateway::responder& respond) {
  auto to = ms_param(req.query, "to", clock.now_ms());
  if (!to) {
    respond(error_response({errc::bad_request, "to must be milliseconds since the epoch"}));
    return;
  }
  auto from = ms_param(req.query, "from", std::max<core::time_ms>(0, *to - history_default_range_ms));
  if (!from) {
    respond(error_response({errc::bad_request, "from must be milliseconds since the epoch"}));
    return;
  }
  if (*from >= *to) {
    respond(error_response({errc::bad_request, "from must be before to"}));
    return;
  }
  auto detail_text = query_param(req.query, "detail").value_or("raw");
  auto detail = storage::history_detail_from_string(detail_text);
  if (!detail) {
    respond(error_response({errc::bad_request, "detail must be raw or minute"}));
    return;
  }
  if (!history_of) {
    respond(error_response({errc::unavailable, "location history is off on this node"}));
    return;
  }
  history_of(actors::history_query{rider, *from, *to, *detail},
             [respond, rider, d = *detail, m = metrics](actors::history_reply r) {
               if (r.error.code != errc::none) {
                 m->error(r.error.code);
                 respond(error_response(r.error));
                 return;
               }
               respond(json_response(200, history_json(rider, d, r)));
             });
}

void rest_handler::impl::dispatch(gateway::http_request& req, gateway::responder respond) {
  const auto& p = req.path;
  const auto& m = req.method;
  if (m == "GET" && p == "/healthz") {
    respond(json_response(200, json{{"status", "ok"}}));
    return;
  }
  if (m == "GET" && p == "/metrics") {
    metrics_text([respond](std::string text) {
      gateway::http_response r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = std::move(text);
      respond(std::move(r));
    });
    return;
  }
  if (const web_file* f = m == "GET" ? find_web_file(p) : nullptr) {
    gateway::http_response r;
    r.content_type = std::string{f->content_type};
    r.body = std::string{f->body};
    r.headers.emplace_back("Cache-Control", "no-store");
    respond(std::move(r));
    return;
  }
  if (p.rfind("/v1/", 0) != 0) {
    respond(error_response({errc::not_found, "no such path " + p}));
    return;
  }
  respond.on_answer([metrics = metrics, route = rest_route_of(m, p),
                     read_ns = core::metrics_now_ns()] {
    auto ns = core::metrics_now_ns() - read_ns;
    metrics->rest_latency_us(route, static_cast<std::uint64_t>(std::max<std::int64_t>(ns, 0)) /
                                        1000);
  });
  if (!limiter->allow_address(req.remote_address)) {
    respond(error_response({errc::rate_limited, "too many requests from this address"}));
    return;
  }
  auto who = authenticate(req);
  if (!who) {
    respond(error_response(who.err()));
    return;
  }
  if (!limiter->allow_subject(std::string{msg::to_string(who->role)} + ":" + who->id)) {
    respond(error_response({errc::rate_limited, "too many requests for this token"}));
    return;
  }
  if (m == "POST" && p == "/v1/orders") {
    auto env = msg::decode_json_as("place_order", req.body);
    if (!env) {
      respond(error_response(env.err()));
      return;
    }
    call(*who, std::move(*env), std::move(respond), [](const msg::envelope& e) {
      auto j = body_json(e);
      return json_response(201, json{{"order_id", j.value("order_id", "")}});
    });
    return;
  }
  if (m == "GET" && p == "/v1/cells") {
    if (who->role != msg::role::admin) {
      respond(error_response({errc::forbidden, "admin only"}));
      return;
    }
    cells(req, respond);
    return;
  }
  auto bad_id = [&](const std::optional<std::string>& id) {
    if (!id || valid_path_id(*id))
      return false;
    respond(error_response({errc::bad_request,
                            "invalid id in path: 1.." +
                                std::to_string(core::limits::id_chars_max) +
                                " characters of A-Z a-z 0-9 . _ ~ : -"}));
    return true;
  };
  if (auto id = tail(p, "/v1/orders/"); id && m == "GET") {
    if (bad_id(id))
      return;
    routed_command r{actors::order_ref(core::order_id{*id}),
                     caf::make_message(actors::order_query{*who}),
                     reply_kind::order_view, {}, false};
    send(r, std::make_shared<rest_sink>(std::move(respond), nullptr, metrics.get()));
    return;
  }
  if (auto id = tail(p, "/v1/stores/"); id && m == "PUT") {
    if (bad_id(id))
      return;
    auto j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      respond(error_response({errc::bad_request, "body must be a JSON object"}));
      return;
    }
    if (j.contains("store_id") && j["store_id"] != *id) {
      respond(error_response({errc::bad_request, "store_id differs from the path"}));
      return;
    }
    j["store_id"] = *id;
    auto env = msg::decode_json_as("upsert_store", j.dump());
    if (!env) {
      respond(error_response(env.err()));
      return;
    }
    call(*who, std::move(*env), std::move(respond), [](const msg::envelope&) {
      return json_response(200, json{{"ok", true}});
    });
    return;
  }
  if (auto rider = tail(p, "/v1/riders/", "/history"); rider && m == "GET") {
    if (bad_id(rider))
      return;
    if (who->role != msg::role::admin) {
      respond(error_response({errc::forbidden, "admin only"}));
      return;
    }
    history(req, *rider, respond);
    return;
  }
  if (auto cell = tail(p, "/v1/regions/", "/stats"); cell && m == "GET") {
    if (bad_id(cell))
      return;
    if (who->role != msg::role::admin) {
      respond(error_response({errc::forbidden, "admin only"}));
      return;
    }
    routed_command r{actors::region_ref(*cell),
                     caf::make_message(actors::region_stats_query{}),
                     reply_kind::region_stats, {}, false};
    send(r, std::make_shared<rest_sink>(
                std::move(respond),
                [](const msg::envelope& e) { return json_response(200, body_json(e)); },
                metrics.get()));
    return;
  }
  respond(error_response({errc::not_found, "no such call " + m + " " + p}));
}

rest_handler::rest_handler(std::string secret, const core::clock& clock,
                           caf::actor gateway_actor, std::shared_ptr<node_metrics> metrics,
                           metrics_source metrics_text, rest_limits_config limits,
                           history_source history)
    : impl_(std::make_shared<impl>(impl{std::move(secret), clock, std::move(gateway_actor),
                                        std::move(metrics), std::move(metrics_text),
                                        std::make_unique<rest_limiter>(limits, clock),
                                        std::move(history)})) {}

std::uint64_t rest_handler::rate_limited_total() const {
  return impl_->limiter->limited_total();
}

void rest_handler::on_request(gateway::http_request request, gateway::responder respond) {
  impl_->dispatch(request, std::move(respond));
}

} // namespace courier::node
