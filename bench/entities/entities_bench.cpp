// bench/entities: memory per live entity on a real courier-node (issue #11,
// "1,000,000 live order + rider entities on one node in < 2 GiB").
//
// Per run: start a node (embedded journal in a temp dir; idle passivation
// off and the activation limit far above N, so nothing passivates), then
// through the client protocol over raw TCP:
//   1. orders: stores spread over Seoul (upsert_store as admin), then
//      customers place orders (1-3 items, a drop-off within the radius),
//      pipelined; the node's simulated provider pays them.
//   2. a share of the orders (--accept-every) is accepted by its store, so
//      dispatch starts for them (offers stay held: --offer-timeout-s 3600).
//   3. riders: each one a session of its own (a rider token names one
//      rider): hello, availability{true}, one position; closed once acked.
//      At most --concurrency sessions at once (the fd limit).
// Reports node RSS before/after each phase and per entity, node CPU time,
// and the node's own live-entity gauge (/metrics), which must cover every
// rider and order, with no passivation.
//
// Output: `entities: kind=rider|order|all n=... rss_mb=... bytes_per_entity=...`
// (medians over --runs). Exit 0 on success, 1 on a failed run, 77 without
// a node binary.
#include "bench/entities/entity_session.hpp"
#include "bench/entities/metrics_probe.hpp"
#include "bench/fanout/node_process.hpp"
#include "nodes/auth/token.hpp"
#include "tools/sim/geo_walk.hpp"
#include "tools/sim/sim_context.hpp"

#include <boost/asio/executor_work_guard.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <vector>

namespace {

using namespace courier;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Requests one session keeps in flight (the node allows 256 per session).
constexpr std::size_t pipeline_window = 128;
/// Orders one customer session keeps in flight: each waits on its store's
/// answer, and a deep queue at a store times those checks out.
constexpr std::size_t orders_in_flight_per_session = 16;
/// Retries of `unavailable` orders per customer session (a bound, not a goal).
constexpr std::uint64_t order_retries_max = 10'000;
/// Customer sessions placing orders at once.
constexpr std::size_t customer_sessions = 16;
/// Time allowed per entity for a phase, on top of a fixed minute: a bound
/// against a hung run, not a speed target.
constexpr auto phase_time_per_entity = 2ms;
constexpr auto phase_time_base = 60s;
/// The area riders and stores are spread over (Seoul, ~22 x 26 km).
constexpr double area_lat_min = 37.45, area_lat_span = 0.20;
constexpr double area_lng_min = 126.85, area_lng_span = 0.30;
/// Node RSS is read after the live gauge stopped moving for this long.
constexpr auto settle_step = 1s;
constexpr int settle_steps_max = 30;

struct bench_args {
  std::string node;
  std::uint64_t entities = 2000;  ///< riders + orders
  double rider_share = 0.5;
  std::uint32_t stores = 200;
  std::uint32_t accept_every = 10; ///< every k-th order is accepted (0: none)
  std::uint32_t concurrency = 512; ///< rider/store sessions open at once
  std::uint32_t runs = 1;
  std::uint64_t seed = 1;
  /// The node's --payment-idle-s: settled payments passivate this long
  /// after their last call (1 keeps the run short; 0: they stay live, the
  /// figure before they could).
  std::string payment_idle_s = "1";
  std::string secret = "courier-entities-bench";
};

/// One run's figures.
struct run_result {
  std::uint64_t riders = 0, orders = 0, accepted = 0, live = 0, passivated = 0;
  std::uint64_t orders_live = 0, riders_live = 0, payments_live = 0;
  double rss_base_mb = 0, rss_orders_mb = 0, rss_all_mb = 0;
  double rider_bytes = 0, order_bytes = 0, all_bytes = 0;
  double cpu_s = 0, elapsed_s = 0;
};

bool parse_flag(bench_args& a, const std::string& f, const std::string& v) {
  auto num = [&](auto& out) {
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc{} && end == v.data() + v.size();
  };
  if (f == "--node")
    return a.node = v, true;
  if (f == "--entities")
    return num(a.entities) && a.entities >= 2;
  if (f == "--rider-share")
    return (a.rider_share = std::atof(v.c_str())) > 0 && a.rider_share < 1;
  if (f == "--stores")
    return num(a.stores) && a.stores > 0;
  if (f == "--accept-every")
    return num(a.accept_every);
  if (f == "--concurrency")
    return num(a.concurrency) && a.concurrency > 0 && a.concurrency <= 8000;
  if (f == "--runs")
    return num(a.runs) && a.runs > 0;
  if (f == "--seed")
    return num(a.seed);
  if (f == "--payment-idle-s")
    return a.payment_idle_s = v, !v.empty() && std::atof(v.c_str()) >= 0;
  return false;
}

std::optional<bench_args> parse(int argc, char** argv) {
  bench_args a;
  for (int i = 1; i + 1 < argc; i += 2)
    if (!parse_flag(a, argv[i], argv[i + 1])) {
      std::cerr << "entities_bench: bad argument " << argv[i] << " " << argv[i + 1] << "\n";
      return std::nullopt;
    }
  if (a.node.empty() || argc % 2 == 0) {
    std::cerr << "usage: entities_bench --node PATH [--entities N] [--rider-share F]"
                 " [--stores S] [--accept-every K] [--concurrency C] [--runs R] [--seed X]"
                 " [--payment-idle-s S]\n";
    return std::nullopt;
  }
  return a;
}

sim::point area_point(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  return {area_lat_min + area_lat_span * u(rng), area_lng_min + area_lng_span * u(rng)};
}

/// Counts a phase's sessions and outcomes (any strand).
struct phase_counters {
  std::atomic<std::uint64_t> next{0};     ///< next entity index to start
  std::atomic<std::uint64_t> closed{0};   ///< sessions over
  std::atomic<std::uint64_t> done{0};     ///< entities fully set up
  std::atomic<std::uint64_t> errors{0};   ///< error replies or lost sessions
};

/// Counts an error reply and shows the first few (why a phase fails).
void count_error(phase_counters& c, const char* phase, const msg::envelope& m) {
  constexpr std::uint64_t shown_max = 3;
  auto n = c.errors.fetch_add(1);
  if (auto* e = std::get_if<msg::error_reply>(&m.body); e && n < shown_max)
    std::fprintf(stderr, "entities_bench: %s: error %s: %s\n", phase,
                 std::string(core::to_string(e->code)).c_str(), e->message.c_str());
}

/// Everything one run connects, on one io_context.
class entities_run {
public:
  entities_run(const bench_args& a, const bench::node_process& node)
      : a_(a), node_(node), rng_(a.seed) {
    target_.host = "127.0.0.1";
    target_.transport = sim::transport_kind::tcp;
    target_.port = node.tcp_port();
    for (unsigned i = 0; i < 2; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~entities_run() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }

  std::optional<run_result> run();

private:
  std::string token(msg::role role, const std::string& id) const {
    return auth::sign_token({std::string(msg::to_string(role)), id,
                             sim::sim_context::epoch_ms() / 1000 + 24 * 3600},
                            a_.secret);
  }
  std::shared_ptr<bench::entity_session> session(msg::role role, const std::string& id,
                                                 bench::entity_session::hooks h) {
    return std::make_shared<bench::entity_session>(io_, target_, token(role, id), std::move(h));
  }
  bool wait_phase(const char* what, phase_counters& c, std::uint64_t sessions,
                  std::uint64_t entities);
  bool upsert_stores();
  void start_rider(std::uint64_t i);
  bool add_riders();
  void start_customer(std::uint32_t k, std::uint64_t first, std::uint64_t count);
  bool add_orders();
  void start_store_accepts(std::size_t s);
  bool accept_orders();
  std::optional<bench::node_gauges> settled_metrics();

  const bench_args& a_;
  const bench::node_process& node_;
  std::mt19937_64 rng_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      io_.get_executor()};
  std::vector<std::thread> threads_;
  sim::conn_target target_;
  std::uint64_t riders_ = 0, orders_ = 0;
  std::vector<sim::point> stores_, rider_at_;
  phase_counters store_c_, rider_c_, order_c_, accept_c_;
  std::atomic<std::uint64_t> order_retries_{0};
  std::mutex accept_mutex_;
  std::vector<std::vector<core::order_id>> to_accept_; ///< per store
  std::vector<std::size_t> accept_stores_;             ///< stores with orders to accept
};

bool entities_run::wait_phase(const char* what, phase_counters& c, std::uint64_t sessions,
                              std::uint64_t entities) {
  auto deadline = clock_type::now() + phase_time_base + phase_time_per_entity * entities;
  auto t0 = clock_type::now();
  while (c.closed.load() < sessions && clock_type::now() < deadline)
    std::this_thread::sleep_for(50ms);
  double s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::cerr << "entities_bench: " << what << ": " << c.done.load() << "/" << entities
            << " in " << s << " s (" << c.errors.load() << " errors)\n";
  return c.closed.load() >= sessions;
}

bool entities_run::upsert_stores() {
  auto& c = store_c_;
  auto send_next = [this, &c](bench::entity_session& self) {
    auto i = c.next.fetch_add(1);
    if (i >= stores_.size())
      return;
    self.send(msg::upsert_store{core::store_id{"s-e-" + std::to_string(i)}, stores_[i].lat,
                                stores_[i].lng, 3000, true},
              "u");
  };
  bench::entity_session::hooks h;
  h.welcomed = [send_next](bench::entity_session& self) {
    for (std::size_t i = 0; i < pipeline_window; ++i)
      send_next(self);
  };
  h.message = [this, &c, send_next](bench::entity_session& self, msg::envelope& m) {
    if (m.ref != "u")
      return;
    (std::holds_alternative<msg::ok_reply>(m.body) ? c.done : c.errors).fetch_add(1);
    if (c.done.load() + c.errors.load() == stores_.size())
      return self.close();
    send_next(self);
  };
  h.closed = [&c](bench::entity_session&, bool) { c.closed.fetch_add(1); };
  session(msg::role::admin, "bench-admin", std::move(h))->start();
  return wait_phase("stores", c, 1, stores_.size()) && c.done.load() == stores_.size();
}

void entities_run::start_rider(std::uint64_t i) {
  // Both replies (ok for availability, ack for the position) end the script.
  auto got = std::make_shared<int>(0);
  bench::entity_session::hooks h;
  h.welcomed = [this, i](bench::entity_session& self) {
    self.send(msg::availability{true}, "a");
    self.send(msg::position{1, rider_at_[i].lat, rider_at_[i].lng, sim::sim_context::epoch_ms(),
                            {}, {}, {}},
              "p");
  };
  h.message = [this, got](bench::entity_session& self, msg::envelope& m) {
    bool reply = std::holds_alternative<msg::ack>(m.body) ||
                 (m.ref == "a" && std::holds_alternative<msg::ok_reply>(m.body));
    if (std::holds_alternative<msg::error_reply>(m.body)) {
      count_error(rider_c_, "rider", m);
      return self.close();
    }
    if (reply && ++*got == 2) {
      rider_c_.done.fetch_add(1);
      self.close();
    }
  };
  h.closed = [this](bench::entity_session&, bool) {
    rider_c_.closed.fetch_add(1);
    auto next = rider_c_.next.fetch_add(1);
    if (next < riders_)
      start_rider(next);
  };
  session(msg::role::rider, "r-e-" + std::to_string(i), std::move(h))->start();
}

bool entities_run::add_riders() {
  auto first = std::min<std::uint64_t>(a_.concurrency, riders_);
  rider_c_.next = first;
  for (std::uint64_t i = 0; i < first; ++i)
    start_rider(i);
  return wait_phase("riders", rider_c_, riders_, riders_) && rider_c_.done.load() == riders_;
}

/// Order `j`'s store, items and drop-off: deterministic in j.
msg::place_order order_body(std::uint64_t j, const std::vector<sim::point>& stores) {
  auto s = j % stores.size();
  msg::place_order p;
  p.request_id = core::request_id{"rq-" + std::to_string(j)};
  p.store_id = core::store_id{"s-e-" + std::to_string(s)};
  std::int64_t total = 0;
  for (std::uint64_t line = 0; line <= j % 3; ++line) {
    std::uint32_t qty = 1 + static_cast<std::uint32_t>((j + line) % 2);
    std::int64_t price = 1000 + static_cast<std::int64_t>((j * 7 + line * 13) % 50) * 100;
    p.items.push_back(msg::item{"sku-" + std::to_string((j + line * 17) % 500), qty,
                                msg::money{price}});
    total += price * qty;
  }
  p.total = msg::money{total};
  auto drop = sim::offset(stores[s], static_cast<double>((j * 137) % 360),
                          300.0 + static_cast<double>(j % 20) * 100.0);
  p.dropoff = msg::lat_lng{drop.lat, drop.lng};
  return p;
}

/// A busy node answers some orders `unavailable` (the store's check timed
/// out); a client retries those with the same request_id (idempotent).
bool retryable(const msg::envelope& m) {
  auto* e = std::get_if<msg::error_reply>(&m.body);
  return e && (e->code == core::errc::unavailable || e->code == core::errc::overloaded);
}

void entities_run::start_customer(std::uint32_t k, std::uint64_t first, std::uint64_t count) {
  struct script {
    std::uint64_t sent = 0, answered = 0, retries = 0;
  };
  auto st = std::make_shared<script>();
  auto send_next = [this, st, first, count](bench::entity_session& self) {
    if (st->sent >= count)
      return;
    auto j = first + st->sent++;
    self.send(order_body(j, stores_), std::to_string(j));
  };
  bench::entity_session::hooks h;
  h.welcomed = [send_next](bench::entity_session& self) {
    for (std::size_t i = 0; i < orders_in_flight_per_session; ++i)
      send_next(self);
  };
  h.message = [this, st, count, send_next](bench::entity_session& self, msg::envelope& m) {
    auto* placed = std::get_if<msg::order_placed>(&m.body);
    if (!placed && !std::holds_alternative<msg::error_reply>(m.body))
      return;
    if (retryable(m) && st->retries < order_retries_max) {
      st->retries += 1;
      order_retries_.fetch_add(1);
      auto j = std::strtoull(m.ref.c_str(), nullptr, 10);
      self.send(order_body(j, stores_), m.ref);
      return;
    }
    st->answered += 1;
    if (placed) {
      order_c_.done.fetch_add(1);
      auto j = std::strtoull(m.ref.c_str(), nullptr, 10);
      if (a_.accept_every > 0 && j % a_.accept_every == 0) {
        std::lock_guard lock(accept_mutex_);
        to_accept_[j % stores_.size()].push_back(placed->order_id);
      }
    } else {
      count_error(order_c_, "order", m);
    }
    if (st->answered == count)
      return self.close();
    send_next(self);
  };
  h.closed = [this](bench::entity_session&, bool) { order_c_.closed.fetch_add(1); };
  session(msg::role::customer, "c-e-" + std::to_string(k), std::move(h))->start();
}

bool entities_run::add_orders() {
  to_accept_.assign(stores_.size(), {});
  auto per = orders_ / customer_sessions, extra = orders_ % customer_sessions;
  std::uint64_t first = 0;
  for (std::uint32_t k = 0; k < customer_sessions; ++k) {
    auto count = per + (k < extra ? 1 : 0);
    start_customer(k, first, count);
    first += count;
  }
  bool ok = wait_phase("orders", order_c_, customer_sessions, orders_);
  std::cerr << "entities_bench: orders retried after unavailable: " << order_retries_.load()
            << "\n";
  return ok && order_c_.done.load() == orders_;
}

void entities_run::start_store_accepts(std::size_t s) {
  auto st = std::make_shared<std::uint64_t>(0); // accepts sent
  auto answered = std::make_shared<std::uint64_t>(0);
  const auto& orders = to_accept_[s];
  auto send_next = [st, &orders](bench::entity_session& self) {
    if (*st < orders.size())
      self.send(msg::accept_order{orders[(*st)++], 10}, "acc");
  };
  bench::entity_session::hooks h;
  h.welcomed = [send_next](bench::entity_session& self) {
    for (std::size_t i = 0; i < pipeline_window; ++i)
      send_next(self);
  };
  h.message = [this, answered, &orders, send_next](bench::entity_session& self,
                                                   msg::envelope& m) {
    if (m.ref != "acc")
      return; // pushes (order_status of its own orders)
    if (std::holds_alternative<msg::ok_reply>(m.body))
      accept_c_.done.fetch_add(1);
    else
      count_error(accept_c_, "accept", m);
    if (++*answered == orders.size())
      return self.close();
    send_next(self);
  };
  h.closed = [this](bench::entity_session&, bool) {
    accept_c_.closed.fetch_add(1);
    auto next = accept_c_.next.fetch_add(1);
    if (next < accept_stores_.size())
      start_store_accepts(accept_stores_[next]);
  };
  session(msg::role::store, "s-e-" + std::to_string(s), std::move(h))->start();
}

bool entities_run::accept_orders() {
  std::uint64_t total = 0;
  for (std::size_t s = 0; s < to_accept_.size(); ++s)
    if (!to_accept_[s].empty()) {
      accept_stores_.push_back(s);
      total += to_accept_[s].size();
    }
  if (accept_stores_.empty())
    return true;
  auto first = std::min<std::size_t>(a_.concurrency, accept_stores_.size());
  accept_c_.next = first;
  for (std::size_t i = 0; i < first; ++i)
    start_store_accepts(accept_stores_[i]);
  return wait_phase("accepts", accept_c_, accept_stores_.size(), total);
}

/// The node's gauges once the live count stopped moving (effects such as
/// payments and dispatch activate entities after the replies came back).
std::optional<bench::node_gauges> entities_run::settled_metrics() {
  auto admin = token(msg::role::admin, "bench-admin");
  std::optional<bench::node_gauges> last;
  for (int i = 0; i < settle_steps_max; ++i) {
    std::this_thread::sleep_for(settle_step);
    auto now = bench::read_node_gauges(node_.http_port(), admin);
    if (now && last && now->live == last->live)
      return now;
    last = now;
  }
  return last;
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

std::optional<run_result> entities_run::run() {
  riders_ = static_cast<std::uint64_t>(static_cast<double>(a_.entities) * a_.rider_share);
  orders_ = a_.entities - riders_;
  for (std::uint32_t s = 0; s < a_.stores; ++s)
    stores_.push_back(area_point(rng_));
  for (std::uint64_t i = 0; i < riders_; ++i)
    rider_at_.push_back(area_point(rng_));
  auto t0 = clock_type::now();
  if (!upsert_stores())
    return std::nullopt;
  run_result r;
  auto cpu0 = node_.cpu_ms();
  auto base = node_.rss_kib();
  // Orders first: placing them slows down sharply with many live riders
  // (see bench/README.md), and the per-kind figures do not depend on order.
  if (!add_orders())
    return std::nullopt;
  settled_metrics(); // payments done: a store accepts only paid orders
  if (!accept_orders())
    return std::nullopt;
  settled_metrics();
  auto after_orders = node_.rss_kib();
  std::fprintf(stderr, "entities_bench: rss_mb base=%.1f after orders=%.1f\n", mib(base),
               mib(after_orders)); // also when a later phase fails
  if (!add_riders())
    return std::nullopt;
  auto m = settled_metrics();
  auto after_all = node_.rss_kib();
  if (!m)
    return std::nullopt;
  r.riders = rider_c_.done.load();
  r.orders = order_c_.done.load();
  r.accepted = accept_c_.done.load();
  r.live = m->live;
  r.passivated = m->passivations_total;
  r.orders_live = m->orders_live;
  r.riders_live = m->riders_live;
  r.payments_live = m->payments_live;
  r.rss_base_mb = mib(base);
  r.rss_orders_mb = mib(after_orders);
  r.rss_all_mb = mib(after_all);
  r.order_bytes = 1024.0 * static_cast<double>(after_orders - base) / static_cast<double>(orders_);
  r.rider_bytes =
      1024.0 * static_cast<double>(after_all - after_orders) / static_cast<double>(riders_);
  r.all_bytes = 1024.0 * static_cast<double>(after_all - base) / static_cast<double>(a_.entities);
  r.cpu_s = static_cast<double>(node_.cpu_ms() - cpu0) / 1000.0;
  r.elapsed_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::fprintf(stderr,
               "entities_bench: run: riders=%llu orders=%llu accepted=%llu live=%llu "
               "activations=%llu passivated=%llu (payments live %llu) rss_mb base=%.1f "
               "orders=%.1f all=%.1f "
               "cpu_s=%.1f elapsed_s=%.1f\n",
               static_cast<unsigned long long>(r.riders),
               static_cast<unsigned long long>(r.orders),
               static_cast<unsigned long long>(r.accepted),
               static_cast<unsigned long long>(r.live),
               static_cast<unsigned long long>(m->activations_total),
               static_cast<unsigned long long>(r.passivated),
               static_cast<unsigned long long>(r.payments_live), r.rss_base_mb, r.rss_orders_mb,
               r.rss_all_mb, r.cpu_s, r.elapsed_s);
  return r;
}

/// Live means live: every rider and order answered, all still activated
/// (settled payments passivate by design: --payment-idle-s).
bool check(const run_result& r, const bench_args& a) {
  bool ok = r.riders + r.orders == a.entities && r.orders_live >= r.orders &&
            r.riders_live >= r.riders;
  if (!ok)
    std::cerr << "entities_bench: FAILED: " << r.riders << " riders + " << r.orders
              << " orders set up of " << a.entities << ", live orders " << r.orders_live
              << ", live riders " << r.riders_live << ", passivated " << r.passivated << "\n";
  return ok;
}

template <class T>
double median(std::vector<run_result>& v, T run_result::*f) {
  std::vector<double> xs;
  for (auto& r : v)
    xs.push_back(static_cast<double>(r.*f));
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

std::vector<std::string> node_flags(const bench_args& a) {
  // Nothing may passivate while measured: no idle passivation, an
  // activation limit far above every entity the run makes (orders bring
  // their payment, dispatch and timers along), no rate limit on the bench's
  // pipelined sessions, and offers that stay held.
  auto cap = std::to_string(std::max<std::uint64_t>(a.entities * 4, 10'000));
  return {"--idle-passivation-s", "0", "--activations-max", cap, "--messages-per-s-max",
          "1000000", "--messages-burst-max", "1000000", "--offer-timeout-s", "3600",
          "--sessions-max", "100000", "--payment-idle-s", a.payment_idle_s};
}

void print(std::vector<run_result>& rs, const bench_args& a) {
  auto riders = rs.front().riders, orders = rs.front().orders;
  auto line = [&](const char* kind, std::uint64_t n, double mb, double bytes) {
    std::printf("entities: kind=%s n=%llu rss_mb=%.1f bytes_per_entity=%.0f\n", kind,
                static_cast<unsigned long long>(n), mb, bytes);
  };
  line("order", orders, median(rs, &run_result::rss_orders_mb) - median(rs, &run_result::rss_base_mb),
       median(rs, &run_result::order_bytes));
  line("rider", riders, median(rs, &run_result::rss_all_mb) - median(rs, &run_result::rss_orders_mb),
       median(rs, &run_result::rider_bytes));
  line("all", riders + orders, median(rs, &run_result::rss_all_mb),
       median(rs, &run_result::all_bytes));
  std::printf("entities: runs=%zu (median) live=%.0f accepted=%.0f node_rss_base_mb=%.1f "
              "node_cpu_s=%.1f elapsed_s=%.1f stores=%u accept_every=%u\n",
              rs.size(), median(rs, &run_result::live), median(rs, &run_result::accepted),
              median(rs, &run_result::rss_base_mb), median(rs, &run_result::cpu_s),
              median(rs, &run_result::elapsed_s), a.stores, a.accept_every);
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args)
    return 2;
  if (!bench::prepare_bench_process(args->node, "entities_bench"))
    return 77;
  std::cerr << "entities_bench: entities=" << args->entities << " seed=" << args->seed << "\n";
  std::vector<run_result> results;
  for (std::uint32_t k = 0; k < args->runs; ++k) {
    std::string why;
    bench::node_options options;
    options.extra_args = node_flags(*args);
    auto node = bench::node_process::start(args->node, args->secret, 30'000, why, options);
    if (!node) {
      std::cerr << "entities_bench: " << why << "\n";
      return 1;
    }
    std::optional<run_result> r;
    {
      entities_run run(*args, *node);
      r = run.run();
    }
    node->kill_now();
    if (!r || !check(*r, *args)) {
      std::cerr << "entities_bench: run " << k + 1 << " failed\n";
      return 1;
    }
    results.push_back(*r);
  }
  print(results, *args);
  return 0;
}
