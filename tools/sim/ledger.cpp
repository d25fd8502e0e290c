#include "tools/sim/ledger.hpp"

#include "tools/sim/sim_context.hpp"

#include <nlohmann/json.hpp>

namespace courier::sim {

using nlohmann::json;

std::unique_ptr<order_ledger> order_ledger::open(const std::string& path, std::string& error) {
  std::unique_ptr<order_ledger> l(new order_ledger(path));
  if (!l->out_) {
    error = "cannot write the ledger '" + path + "'";
    return nullptr;
  }
  return l;
}

order_ledger::order_ledger(const std::string& path) : out_(path, std::ios::trunc) {}

void order_ledger::placed(const core::order_id& order, const std::string& store,
                          const std::string& customer, const std::string& request) {
  write(json{{"e", "placed"}, {"t", sim_context::epoch_ms()}, {"order", order.str()},
             {"store", store}, {"customer", customer}, {"request", request}}
            .dump());
}

void order_ledger::status(const core::order_id& order, msg::order_status status,
                          std::uint64_t version, bool snapshot) {
  write(json{{"e", "status"}, {"t", sim_context::epoch_ms()}, {"order", order.str()},
             {"status", std::string(msg::to_string(status))}, {"version", version},
             {"snapshot", snapshot}}
            .dump());
}

void order_ledger::new_order(const core::order_id& order, const std::string& store) {
  write(json{{"e", "new_order"}, {"t", sim_context::epoch_ms()}, {"order", order.str()},
             {"store", store}}
            .dump());
}

bool order_ledger::flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  out_.flush();
  return static_cast<bool>(out_);
}

void order_ledger::write(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << '\n';
}

} // namespace courier::sim
