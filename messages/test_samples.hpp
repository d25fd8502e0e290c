#pragma once
/// \file
/// Test-only: one valid, fully populated sample of every client message
/// (optional fields set), for the round-trip tests. Not part of the library.

#include "messages/client.hpp"

#include <vector>

namespace courier::msg::test {

inline lat_lng point(double lat, double lng) { return lat_lng{lat, lng}; }
inline money cents(std::int64_t c) { return money{c}; }

/// Every alternative of client_body, in variant order, each with a ref.
inline std::vector<envelope> all_samples() {
  using namespace courier::core;
  std::vector<item> items{{"sku-1", 2, cents(999)}, {"sku-2", 1, cents(150)}};
  std::vector<envelope> out;
  auto add = [&out](client_body b) {
    out.push_back(envelope{"ref-" + std::to_string(out.size()), std::move(b)});
  };
  add(hello{"tok.en.sig"});
  add(welcome{role::customer, "c-1", 1'700'000'000'123});
  add(error_reply{errc::conflict, "offer expired"});
  add(position{42, 37.4979, 127.0276, 1'700'000'000'000, 4.5, 8.25, 359.5});
  add(ack{42});
  add(availability{true});
  add(ok_reply{7});
  add(accept_offer{offer_id{"of-1"}});
  add(reject_offer{offer_id{"of-2"}});
  add(status_report{order_id{"o-1"}, order_status::picked_up});
  add(offer{offer_id{"of-1"}, order_id{"o-1"}, point(37.5, 127.0), point(37.51, 127.01),
            1234.5, 1'700'000'015'000});
  add(place_order{request_id{"req-1"}, store_id{"s-1"}, items, cents(2148),
                  point(37.51, 127.01)});
  add(order_placed{order_id{"o-1"}, request_id{"req-1"}});
  add(subscribe{order_id{"o-1"}});
  add(subscribed{order_id{"o-1"},
                 order_snapshot{order_status::accepted, 3, rider_id{"r-17"}, 37.5, 127.0, 600}});
  add(unsubscribe{order_id{"o-1"}});
  add(cancel{order_id{"o-1"}});
  add(order_status_msg{order_id{"o-1"}, order_status::cooking, 4, 1'700'000'001'000});
  add(rider_position{order_id{"o-1"}, rider_id{"r-17"}, 37.505, 127.005, 1'700'000'002'000, 300});
  add(rider_nearby{order_id{"o-1"}, 87.5});
  add(accept_order{order_id{"o-1"}, 15});
  add(reject_order{order_id{"o-1"}, "out of stock"});
  add(cooking{order_id{"o-1"}});
  add(ready{order_id{"o-1"}});
  add(new_order{order_id{"o-1"}, items, cents(2148)});
  add(rider_arriving{order_id{"o-1"}, 120});
  add(radius_trigger{"store:s-1", radius_trigger_kind::weather, 1500});
  add(radius_result{"store:s-1", 1500, true, std::string{"weather"}});
  add(upsert_store{store_id{"s-1"}, 37.5, 127.0, 3000, true});
  add(subscribe_region{"8730e0ae9ffffff"});
  add(region_stats{"8730e0ae9ffffff", 12, 30, {{"placed", 3}, {"delivering", 9}}, 1'700'000'003'000,
                   {{rider_id{"r-1"}, 37.5, 127.03, "available"},
                    {rider_id{"r-2"}, 37.49, 127.02, "busy"}},
                   {{order_id{"o-1"}, order_status::cooking, 37.51, 127.04}},
                   false,
                   {{"8830e0ae9bfffff", 7, 2}, {"8930e0ae9b3ffff", 5, 1}}});
  add(delayed_orders{{{order_id{"o-9"}, order_status::ready, 2400}, {order_id{"o-8"}, order_status::paid, 1900}}});
  add(assignment{order_id{"o-1"}, offer_id{"f-1"}});
  add(refresh{"eyJhbGciOiJIUzI1NiJ9.e30.c2ln"});
  add(ping{1'700'000'000'123});
  add(pong{1'700'000'000'123});
  return out;
}

} // namespace courier::msg::test
