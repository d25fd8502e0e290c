// h3_bench: calls per second of courier_geo's latLngToCell, cellToLatLng
// and gridDisk (k = 1, 2) on a fixed seeded point set around Seoul, the
// same points as h3_bench.js draws for h3-js. Prints one line per
// operation: "<op> <median calls/s over the runs>".
//
// usage: h3_bench [--points N] [--runs R] [--res RES]
#include "geo/h3.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace courier::geo;

namespace {

constexpr std::uint32_t points_seed = 20240607;
constexpr int points_default = 100000;
constexpr int runs_default = 5;
constexpr int res_default = 9;
/// Points lie in a disc of this radius around Gangnam station, km.
constexpr double disc_radius_km = 20.0;
constexpr double gangnam_lat_deg = 37.4979;
constexpr double gangnam_lng_deg = 127.0276;

// mulberry32, identical to the JS side (uint32 wrap-around arithmetic).
struct mulberry32 {
  std::uint32_t a;
  double next() {
    a += 0x6d2b79f5u;
    std::uint32_t t = a;
    t = (t ^ (t >> 15)) * (t | 1u);
    t ^= t + (t ^ (t >> 7)) * (t | 61u);
    return static_cast<double>(t ^ (t >> 14)) / 4294967296.0;
  }
};

std::vector<lat_lng> make_points(int n) {
  mulberry32 rng{points_seed};
  const double km_per_deg_lat = 110.574;
  const double km_per_deg_lng = 111.320 * std::cos(gangnam_lat_deg * M_PI / 180.0);
  std::vector<lat_lng> pts;
  pts.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double r = disc_radius_km * std::sqrt(rng.next());
    const double th = 2.0 * M_PI * rng.next();
    pts.push_back({gangnam_lat_deg + r * std::cos(th) / km_per_deg_lat,
                   gangnam_lng_deg + r * std::sin(th) / km_per_deg_lng});
  }
  return pts;
}

template <class F>
double calls_per_s(std::size_t calls, F&& body) {
  const auto t0 = std::chrono::steady_clock::now();
  body();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return static_cast<double>(calls) / dt.count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0)
      return std::atoi(argv[i + 1]);
  return fallback;
}

} // namespace

int main(int argc, char** argv) {
  const int n = arg_int(argc, argv, "--points", points_default);
  const int runs = std::max(1, arg_int(argc, argv, "--runs", runs_default));
  const int res = arg_int(argc, argv, "--res", res_default);
  const std::vector<lat_lng> pts = make_points(n);
  std::vector<cell> cells;
  for (const lat_lng& p : pts)
    cells.push_back(*lat_lng_to_cell(p.lat_deg, p.lng_deg, res));

  std::uint64_t sink = 0; // keeps the work observable
  std::vector<double> to_cell, to_latlng, disk1, disk2;
  for (int r = 0; r < runs; ++r) {
    to_cell.push_back(calls_per_s(pts.size(), [&] {
      for (const lat_lng& p : pts)
        sink += lat_lng_to_cell(p.lat_deg, p.lng_deg, res)->bits();
    }));
    to_latlng.push_back(calls_per_s(cells.size(), [&] {
      for (cell c : cells)
        sink += static_cast<std::uint64_t>(cell_to_lat_lng(c)->lat_deg * 1e6);
    }));
    disk1.push_back(calls_per_s(cells.size(), [&] {
      for (cell c : cells)
        sink += grid_disk(c, 1)->size();
    }));
    disk2.push_back(calls_per_s(cells.size(), [&] {
      for (cell c : cells)
        sink += grid_disk(c, 2)->size();
    }));
  }
  std::printf("latLngToCell %.0f\ncellToLatLng %.0f\ngridDisk_k1 %.0f\ngridDisk_k2 %.0f\n",
              median(to_cell), median(to_latlng), median(disk1), median(disk2));
  std::fprintf(stderr, "h3_bench: %d points, res %d, %d runs, seed %u, checksum %llu\n", n, res,
               runs, points_seed, static_cast<unsigned long long>(sink));
  return 0;
}
