// The /metrics histogram: bucket edges (Prometheus `le` is inclusive), the
// cumulative text, labels, and exact counts under concurrent observers.
#include "core/histogram.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <thread>
#include <vector>

using namespace courier::core;

namespace {
struct tiny_buckets {
  static constexpr std::array<std::uint64_t, 3> upper{1, 10, 100};
};
} // namespace

TEST_CASE("histogram_puts_a_value_in_the_first_bucket_it_does_not_exceed") {
  using h = histogram<tiny_buckets>;
  CHECK(h::bucket_of(0) == 0);
  CHECK(h::bucket_of(1) == 0);
  CHECK(h::bucket_of(2) == 1);
  CHECK(h::bucket_of(10) == 1);
  CHECK(h::bucket_of(100) == 2);
  CHECK(h::bucket_of(101) == 3); // +Inf
  CHECK(histogram<depth_buckets>::bucket_of(0) == 0);
  CHECK(histogram<depth_buckets>::bucket_of(3) == 3);
  CHECK(histogram<latency_us_buckets>::bucket_of(6'000'000) == latency_us_buckets::upper.size());
}

TEST_CASE("histogram_writes_cumulative_buckets_sum_and_count") {
  histogram<tiny_buckets> h;
  for (std::uint64_t v : {0, 1, 5, 50, 500})
    h.observe(v);
  CHECK(h.count() == 5);
  CHECK(h.sum() == 556);
  std::ostringstream plain;
  h.write(plain, "x_ms");
  CHECK(plain.str() == "x_ms_bucket{le=\"1\"} 2\n"
                       "x_ms_bucket{le=\"10\"} 3\n"
                       "x_ms_bucket{le=\"100\"} 4\n"
                       "x_ms_bucket{le=\"+Inf\"} 5\n"
                       "x_ms_sum 556\n"
                       "x_ms_count 5\n");
  std::ostringstream labelled;
  h.write(labelled, "y_us", "type=\"place_order\"");
  CHECK(labelled.str().find("y_us_bucket{type=\"place_order\",le=\"10\"} 3\n") !=
        std::string::npos);
  CHECK(labelled.str().find("y_us_count{type=\"place_order\"} 5\n") != std::string::npos);
}

TEST_CASE("histogram_counts_every_observation_from_concurrent_threads") {
  histogram<latency_us_buckets> h;
  constexpr int threads = 4, each = 20'000;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&h, t] {
      for (int i = 0; i < each; ++i)
        h.observe(static_cast<std::uint64_t>((i * 37 + t) % 3'000'000));
    });
  for (auto& t : ts)
    t.join();
  CHECK(h.count() == static_cast<std::uint64_t>(threads * each));
  std::uint64_t total = 0;
  for (std::size_t i = 0; i <= h.buckets; ++i)
    total += h.in_bucket(i);
  CHECK(total == h.count());
}
