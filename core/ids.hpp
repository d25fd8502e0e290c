#pragma once
/// \file
/// Strong id types: an order id can never be passed where a rider id is
/// expected. Ids are strings on the wire (PROTOCOL.md: "o-123", "r-17").

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>

namespace courier::core {

/// A string id tagged with the kind of thing it names.
template <class Tag>
class strong_id {
public:
  strong_id() = default;
  explicit strong_id(std::string value) : value_(std::move(value)) {}

  const std::string& str() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const strong_id& a, const strong_id& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const strong_id& a, const strong_id& b) {
    return !(a == b);
  }
  friend bool operator<(const strong_id& a, const strong_id& b) {
    return a.value_ < b.value_;
  }
  friend std::ostream& operator<<(std::ostream& os, const strong_id& x) {
    return os << x.value_;
  }
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, strong_id& x) {
    return f(x.value_);
  }

private:
  std::string value_;
};

struct order_tag {};
struct rider_tag {};
struct store_tag {};
struct customer_tag {};
struct node_tag {};
struct offer_tag {};
struct request_tag {};

using order_id = strong_id<order_tag>;
using rider_id = strong_id<rider_tag>;
using store_id = strong_id<store_tag>;
using customer_id = strong_id<customer_tag>;
using node_id = strong_id<node_tag>;
using offer_id = strong_id<offer_tag>;
using request_id = strong_id<request_tag>;

} // namespace courier::core

template <class Tag>
struct std::hash<courier::core::strong_id<Tag>> {
  std::size_t operator()(const courier::core::strong_id<Tag>& x) const noexcept {
    return std::hash<std::string>{}(x.str());
  }
};
