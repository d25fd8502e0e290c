#include "tools/sim/runner.hpp"

#include "tools/sim/sizing.hpp"

#include <boost/asio/post.hpp>

#include <csignal>

namespace courier::sim {

namespace asio = boost::asio;

sim_runner::sim_runner(sim_context& ctx, std::ostream& out)
    : ctx_(ctx), out_(out), strand_(asio::make_strand(ctx.io)),
      signals_(strand_, SIGINT, SIGTERM), setup_timer_(strand_), pace_timer_(strand_),
      progress_timer_(strand_), duration_timer_(strand_), grace_timer_(strand_),
      pacer_(effective_orders_per_min(ctx.cfg)), rng_(ctx.cfg.seed * 0x9e3779b97f4a7c15ull + 1),
      run_id_(ctx.cfg.run_id.empty() ? "sim" + std::to_string(ctx.epoch_ms() % 100'000'000)
                                     : ctx.cfg.run_id) {}

void sim_runner::arm(asio::steady_timer& t, std::int64_t ms, void (sim_runner::*fn)()) {
  auto self = shared_from_this();
  t.expires_after(std::chrono::milliseconds(ms));
  t.async_wait([self, fn](boost::system::error_code ec) {
    if (!ec && !self->stopping_)
      ((*self).*fn)();
  });
}

void sim_runner::start() {
  const auto& c = ctx_.cfg;
  auto t = ctx_.target();
  out_ << "courier-sim: seed=" << c.seed << " run_id=" << run_id_ << " transport="
       << to_string(c.transport) << " target=" << t.host << ":" << t.port << " riders="
       << c.riders << " stores=" << c.stores << " customers=" << c.customers
       << " orders_per_min=" << effective_orders_per_min(c)
       << (c.orders_per_min ? "" : " (sized: riders x utilization / busy time per order)")
       << " speedup=" << c.speedup << std::endl;
  auto self = shared_from_this();
  signals_.async_wait([self](boost::system::error_code ec, int) {
    if (!ec)
      self->stop();
  });
  admin_ = std::make_shared<admin_agent>(ctx_, [self](std::size_t ok, std::size_t failed) {
    asio::post(self->strand_, [self, ok, failed] { self->on_setup_done(ok, failed); });
  });
  admin_->start(0);
  arm(setup_timer_, setup_timeout_ms, &sim_runner::start_city);
  if (c.duration_s > 0)
    arm(duration_timer_, static_cast<std::int64_t>(c.duration_s) * 1000, &sim_runner::stop);
  if (c.progress_s > 0)
    arm(progress_timer_, static_cast<std::int64_t>(c.progress_s) * 1000, &sim_runner::progress);
}

void sim_runner::on_setup_done(std::size_t ok, std::size_t failed) {
  if (stopping_)
    return;
  out_ << "courier-sim: setup: " << ok << " stores upserted, " << failed << " failed" << std::endl;
  setup_timer_.cancel();
  start_city();
}

void sim_runner::start_city() {
  if (city_started_ || stopping_)
    return;
  city_started_ = true;
  if (ctx_.stats.stores_upserted.load() == 0)
    out_ << "courier-sim: warning: no store was created; orders will fail" << std::endl;
  const auto& city = ctx_.city;
  std::uint64_t seed = ctx_.cfg.seed;
  for (std::size_t i = 0; i < city.stores.size(); ++i)
    agents_.push_back(std::make_shared<store_agent>(ctx_, city.stores[i], seed + 1000003 * (i + 1)));
  for (std::size_t i = 0; i < city.riders.size(); ++i)
    agents_.push_back(std::make_shared<rider_agent>(ctx_, city.riders[i], seed + 7919 * (i + 1)));
  for (const auto& id : city.customers) {
    customers_.push_back(std::make_shared<customer_agent>(ctx_, id));
    agents_.push_back(customers_.back());
  }
  // Spread the connects so the node's accept queue is not hit all at once.
  std::int64_t n = static_cast<std::int64_t>(agents_.size());
  for (std::int64_t i = 0; i < n; ++i)
    agents_[static_cast<std::size_t>(i)]->start(n > 0 ? i * start_spread_ms / n : 0);
  // Orders start once riders have had time to say they are available.
  arm(pace_timer_, start_spread_ms + 1000, &sim_runner::pace);
}

void sim_runner::pace() {
  auto now = ctx_.elapsed_ms();
  if (pacing_started_ms_ < 0)
    pacing_started_ms_ = now;
  auto shed_before = pacer_.shed();
  auto due = pacer_.take_due(now - pacing_started_ms_);
  ctx_.stats.orders_shed.fetch_add(pacer_.shed() - shed_before, std::memory_order_relaxed);
  for (std::uint32_t k = 0; k < due && !customers_.empty(); ++k) {
    if (ctx_.outstanding.load() >= ctx_.cfg.outstanding_max) {
      ctx_.stats.orders_shed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto& customer = customers_[std::uniform_int_distribution<std::size_t>(
        0, customers_.size() - 1)(rng_)];
    ctx_.outstanding.fetch_add(1);
    customer->place(make_order(ctx_.city, rng_),
                    core::request_id{run_id_ + "-" + std::to_string(++requests_)});
  }
  arm(pace_timer_, pacer_tick_ms, &sim_runner::pace);
}

void sim_runner::progress() {
  auto window = ctx_.stats.take_window();
  out_ << progress_line(ctx_.stats.counters(), static_cast<double>(ctx_.elapsed_ms()) / 1000.0,
                        &window)
       << std::endl;
  arm(progress_timer_, static_cast<std::int64_t>(ctx_.cfg.progress_s) * 1000,
      &sim_runner::progress);
}

void sim_runner::stop() {
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    if (self->stopping_)
      return;
    self->stopping_ = true;
    self->ctx_.stopping.store(true);
    for (auto* t : {&self->setup_timer_, &self->pace_timer_, &self->progress_timer_,
                    &self->duration_timer_})
      t->cancel();
    self->signals_.cancel();
    if (self->admin_)
      self->admin_->stop();
    for (auto& a : self->agents_)
      a->stop();
    self->grace_timer_.expires_after(std::chrono::milliseconds(stop_grace_ms));
    self->grace_timer_.async_wait([self](boost::system::error_code) {
      // Agents and their connections refer to each other through pending
      // handlers; dropping them here lets the io_context free the rest.
      self->agents_.clear();
      self->customers_.clear();
      self->admin_.reset();
      self->ctx_.io.stop();
    });
  });
}

} // namespace courier::sim
