#pragma once
/// \file
/// The order ledger (`--ledger FILE`): what the sim's clients were told
/// about each order, one JSON object per line, for checks outside the sim
/// (tests/chaos/check_ledger.js proves from it that no acknowledged order
/// was lost, no status went back and every store saw its orders). Lines:
///
///     {"e":"placed","t":MS,"order":ID,"store":ID,"customer":ID,"request":ID}
///     {"e":"status","t":MS,"order":ID,"status":S,"version":N,"snapshot":B}
///     {"e":"new_order","t":MS,"order":ID,"store":ID}
///
/// t is wall-clock epoch ms. Thread-safe (one mutex; a line per order event,
/// so it is never hot). The file grows with the run: about 300 bytes per
/// order and status change, a few MB for an hour at the demo's rate.

#include "core/ids.hpp"
#include "messages/domain.hpp"

#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

namespace courier::sim {

class order_ledger {
public:
  /// Creates (truncates) `path`; nullptr and `error` set if it cannot.
  static std::unique_ptr<order_ledger> open(const std::string& path, std::string& error);

  /// A customer got `order_placed` for `order` (the order is acknowledged).
  void placed(const core::order_id& order, const std::string& store, const std::string& customer,
              const std::string& request);
  /// A customer was shown `status` at `version`: a push, or a `subscribed`
  /// snapshot.
  void status(const core::order_id& order, msg::order_status status, std::uint64_t version,
              bool snapshot);
  /// A store's tablet got `new_order` (a push or its hello snapshot).
  void new_order(const core::order_id& order, const std::string& store);
  /// Writes what is buffered; false if the file could not be written.
  bool flush();

private:
  explicit order_ledger(const std::string& path);
  void write(const std::string& line);

  std::mutex mutex_;
  std::ofstream out_;
};

} // namespace courier::sim
