#include "geo/traversal.hpp"

#include "geo/detail/neighbor.hpp"

#include <unordered_map>

namespace courier::geo {

using namespace detail;

namespace {

struct disk_entry {
  cell c;
  int distance;
};

// Fast path: walk the rings around origin. Fails with h3_status::pentagon
// if a pentagon is met (the rings are then distorted).
h3_status disk_by_rings(cell origin, int k, std::vector<disk_entry>& out) {
  out.push_back({origin, 0});
  if (is_pentagon(origin))
    return h3_status::pentagon;
  index_t current = origin.bits();
  int rotations = 0;
  for (int ring = 1; ring <= k; ++ring) {
    // Step out to the next ring; that cell is emitted last in the ring.
    h3_status st = neighbor_rotations(current, next_ring_direction, rotations, current);
    if (st != h3_status::success)
      return st;
    if (is_pentagon(cell{current}))
      return h3_status::pentagon;
    for (int side = 0; side < 6; ++side) {
      for (int i = 0; i < ring; ++i) {
        st = neighbor_rotations(current, ring_directions[side], rotations, current);
        if (st != h3_status::success)
          return st;
        out.push_back({cell{current}, ring});
        if (is_pentagon(cell{current}))
          return h3_status::pentagon;
      }
    }
  }
  return h3_status::success;
}

// Safe path: breadth-first search over neighbors; pentagons simply have
// one neighbor fewer.
void disk_by_search(cell origin, int k, std::vector<disk_entry>& out) {
  std::unordered_map<cell, int> seen;
  seen.emplace(origin, 0);
  out.push_back({origin, 0});
  for (std::size_t next = 0; next < out.size(); ++next) {
    const disk_entry e = out[next];
    if (e.distance >= k)
      continue;
    for (digit dir : ring_directions) {
      int rotations = 0;
      index_t n = 0;
      if (neighbor_rotations(e.c.bits(), dir, rotations, n) != h3_status::success)
        continue; // the deleted k direction of a pentagon
      if (seen.emplace(cell{n}, e.distance + 1).second)
        out.push_back({cell{n}, e.distance + 1});
    }
  }
}

h3_status disk_entries(cell origin, int k, std::vector<disk_entry>& out) {
  if (!is_valid_cell(origin))
    return h3_status::cell_invalid;
  if (k < 0 || k > grid_disk_k_max)
    return h3_status::domain;
  out.reserve(static_cast<std::size_t>(3 * k * (k + 1) + 1));
  if (disk_by_rings(origin, k, out) != h3_status::success) {
    out.clear();
    disk_by_search(origin, k, out);
  }
  return h3_status::success;
}

} // namespace

core::result<std::vector<cell>> grid_disk(cell origin, int k) {
  std::vector<disk_entry> entries;
  const h3_status st = disk_entries(origin, k, entries);
  if (st != h3_status::success)
    return to_core_error(st, "grid_disk");
  std::vector<cell> out;
  out.reserve(entries.size());
  for (const disk_entry& e : entries)
    out.push_back(e.c);
  return out;
}

core::result<std::vector<std::vector<cell>>> grid_disk_distances(cell origin, int k) {
  std::vector<disk_entry> entries;
  const h3_status st = disk_entries(origin, k, entries);
  if (st != h3_status::success)
    return to_core_error(st, "grid_disk_distances");
  std::vector<std::vector<cell>> rings(static_cast<std::size_t>(k) + 1);
  for (const disk_entry& e : entries)
    rings[static_cast<std::size_t>(e.distance)].push_back(e.c);
  return rings;
}

h3_status grid_distance_status(cell a, cell b, std::int64_t& out) noexcept {
  if (!is_valid_cell(a) || !is_valid_cell(b))
    return h3_status::cell_invalid;
  coord_ijk ia;
  coord_ijk ib;
  h3_status st = cell_to_local_ijk(a.bits(), a.bits(), ia);
  if (st != h3_status::success)
    return st;
  st = cell_to_local_ijk(a.bits(), b.bits(), ib);
  if (st != h3_status::success)
    return st;
  out = ijk_distance(ia, ib);
  return h3_status::success;
}

core::result<std::int64_t> grid_distance(cell a, cell b) {
  std::int64_t d = 0;
  const h3_status st = grid_distance_status(a, b, d);
  if (st != h3_status::success)
    return to_core_error(st, "grid_distance");
  return d;
}

} // namespace courier::geo
