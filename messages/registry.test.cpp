#include "messages/registry.hpp"

#include "messages/client.hpp"
#include "messages/test_samples.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/deep_to_string.hpp>
#include <caf/message.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace courier;
using namespace courier::msg;

namespace {

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;

  static caf::actor_system_config& configured(caf::actor_system_config& c) {
    register_message_types(c);
    return c;
  }
  fixture() : sys(configured(cfg)) {}

  /// T -> CAF binary -> T.
  template <class T>
  T round_trip(T in) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto err = sink(in);
    REQUIRE_MESSAGE(!err, sys.render(err));
    T out{};
    caf::binary_deserializer source{sys, buf};
    auto err2 = source(out);
    REQUIRE_MESSAGE(!err2, sys.render(err2));
    return out;
  }

  /// T inside a caf::message -> CAF binary -> caf::message (by registered name).
  template <class T>
  bool message_round_trip(const T& in) {
    auto msg = caf::make_message(in);
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    if (sink(msg))
      return false;
    caf::message back;
    caf::binary_deserializer source{sys, buf};
    if (source(back))
      return false;
    return back.match_elements<T>() && back.get_as<T>(0) == in;
  }
};

} // namespace

TEST_CASE("every message round-trips through CAF's binary serializer") {
  fixture fx;
  for (const auto& e : test::all_samples()) {
    CAPTURE(type_of(e.body));
    std::visit(
        [&](const auto& x) {
          CHECK(fx.round_trip(x) == x);
          CHECK(fx.message_round_trip(x));
        },
        e.body);
  }
}

TEST_CASE("optional fields keep absence through CAF") {
  fixture fx;
  position p{1, 2, 3, 4, std::nullopt, 5.5, std::nullopt};
  CHECK(fx.round_trip(p) == p);
  ok_reply none{};
  CHECK(fx.round_trip(none) == none);
}

TEST_CASE("registered names are the courier.<type> names") {
  fixture fx;
  const auto& names = fx.cfg.type_names_by_rtti;
  for (const auto& e : test::all_samples()) {
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          auto it = names.find(std::type_index(typeid(T)));
          REQUIRE(it != names.end());
          CHECK(it->second == std::string{"courier."} + std::string{T::type});
        },
        e.body);
  }
  CHECK(names.count(std::type_index(typeid(core::error))) == 1);
  CHECK(names.count(std::type_index(typeid(std::vector<item>))) == 1);
}

TEST_CASE("deep_to_string prints a message") {
  auto s = caf::deep_to_string(hello{"t"});
  CHECK(s.find("courier.hello") != std::string::npos);
}
