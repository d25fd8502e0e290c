// h3_golden_check FILE: checks courier_geo against golden vectors written by
// shared/h3/gen_vectors.js --format tsv (h3-js 4.5.0 as the oracle). Prints
// per-kind counts of records checked and mismatched; exits 1 on any
// mismatch. Points placed exactly on a cell vertex (src "vertex") are tie
// cases decided by the last ulp of libm, so they are counted, not failed.
#include "geo/h3.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace courier::geo;

namespace {

/// H3's own EPSILON_DEG: coordinates may differ in the last ulp between
/// V8's and glibc's trigonometry.
constexpr double coord_tolerance_deg = 1e-9;
/// Mismatch details printed per kind before going quiet.
constexpr int details_max = 10;

struct tally {
  long checked = 0;
  long mismatched = 0;
};

std::map<std::string, tally> tallies;
long vertex_flips = 0;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep))
    out.push_back(cur);
  if (!s.empty() && s.back() == sep)
    out.emplace_back();
  return out;
}

cell parse_cell(const std::string& s) {
  std::uint64_t bits = 0;
  if (!parse_index_hex(s, bits)) {
    std::cerr << "bad cell text '" << s << "'\n";
    std::exit(2);
  }
  return cell{bits};
}

void record(const std::string& kind, bool ok, const std::string& detail) {
  tally& t = tallies[kind];
  t.checked++;
  if (ok)
    return;
  if (t.mismatched++ < details_max)
    std::cerr << "MISMATCH " << kind << ": " << detail << "\n";
}

bool near_deg(double a, double b) {
  double d = std::fabs(a - b);
  if (d > 180.0)
    d = 360.0 - d; // same longitude across the antimeridian
  return d < coord_tolerance_deg;
}

long polar_relaxed = 0;

// Within this many degrees of a pole, H3's vector -> lat/lng step is
// ill-conditioned: lat = asin(z) turns a last-ulp difference of z (one
// sin/cos ulp apart between V8 and glibc) into up to ~1e-7 degrees, and
// lng = atan2(y, x) of tiny x, y does the same. There coordinates are
// compared in the quantities the library computed: z = sin(lat) to a few
// ulps, and longitude as east-west distance.
constexpr double polar_cap_deg = 0.01;
constexpr double z_tolerance = 4 * DBL_EPSILON;

bool near_polar(lat_lng p, double lat, double lng) {
  const double rad = M_PI / 180.0;
  const bool lat_ok = near_deg(p.lat_deg, lat) ||
                      std::fabs(std::sin(p.lat_deg * rad) - std::sin(lat * rad)) <= z_tolerance;
  double d = std::fabs(p.lng_deg - lng);
  if (d > 180.0)
    d = 360.0 - d;
  return lat_ok && d * std::cos(lat * rad) < coord_tolerance_deg;
}

bool near_point(lat_lng p, double lat, double lng) {
  if (near_deg(p.lat_deg, lat) && near_deg(p.lng_deg, lng))
    return true;
  if (90.0 - std::fabs(lat) > polar_cap_deg || !near_polar(p, lat, lng))
    return false;
  polar_relaxed++;
  return true;
}

void check_ll(const std::vector<std::string>& f) {
  const bool vertex = f[1] == "vertex";
  const double lat = std::strtod(f[2].c_str(), nullptr);
  const double lng = std::strtod(f[3].c_str(), nullptr);
  const std::vector<std::string> want = split(f[4], ',');
  for (int res = 0; res <= res_max; ++res) {
    const auto got = lat_lng_to_cell(lat, lng, res);
    const std::string g = got ? cell_to_string(*got) : "error";
    const bool ok = g == want[static_cast<std::size_t>(res)];
    if (vertex) {
      tallies["ll-vertex(soft)"].checked++;
      if (!ok)
        vertex_flips++;
      continue;
    }
    record("ll", ok, f[2] + " " + f[3] + " res " + std::to_string(res) + " got " + g +
                         " want " + want[static_cast<std::size_t>(res)]);
  }
}

bool same_boundary(const std::vector<lat_lng>& got, const std::string& text) {
  const std::vector<std::string> pts = split(text, ';');
  if (pts.size() != got.size())
    return false;
  for (std::size_t i = 0; i < pts.size(); ++i) {
    double lat = 0.0;
    double lng = 0.0;
    if (std::sscanf(pts[i].c_str(), "%lf %lf", &lat, &lng) != 2 || !near_point(got[i], lat, lng))
      return false;
  }
  return true;
}

std::string parents_of(cell h) {
  std::string out;
  for (int r = 0; r < get_resolution(h); ++r) {
    if (r)
      out += ',';
    out += cell_to_string(*cell_to_parent(h, r));
  }
  return out;
}

void check_cell(const std::vector<std::string>& f) {
  const cell h = parse_cell(f[1]);
  const std::string& id = f[1];
  record("cell.valid", is_valid_cell(h), id);
  record("cell.res", get_resolution(h) == std::stoi(f[2]), id);
  record("cell.base", get_base_cell_number(h) == std::stoi(f[3]), id);
  record("cell.pentagon", is_pentagon(h) == (f[4] == "1"), id);
  const auto center = cell_to_lat_lng(h);
  const double lat = std::strtod(f[6].c_str(), nullptr);
  const double lng = std::strtod(f[7].c_str(), nullptr);
  char buf[128];
  std::snprintf(buf, sizeof buf, " got %.17g %.17g", center ? center->lat_deg : 0.0,
                center ? center->lng_deg : 0.0);
  record("cell.center", center && near_point(*center, lat, lng), id + buf + " want " + f[6] + " " + f[7]);
  const auto bnd = cell_to_boundary(h);
  std::string got_bnd;
  if (bnd) {
    for (const lat_lng& p : *bnd) {
      std::snprintf(buf, sizeof buf, "%.17g %.17g;", p.lat_deg, p.lng_deg);
      got_bnd += buf;
    }
  }
  record("cell.boundary", bnd && same_boundary(*bnd, f[8]), id + " got " + got_bnd + " want " + f[8]);
  const std::string want_parents = f.size() > 9 ? f[9] : "";
  const std::string got_parents = parents_of(h);
  record("cell.parents", got_parents == want_parents, id + " got " + got_parents);
}

std::string joined_sorted(std::vector<cell> cells) {
  std::sort(cells.begin(), cells.end());
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i)
      out += ',';
    out += cell_to_string(cells[i]);
  }
  return out;
}

void check_children(const std::vector<std::string>& f) {
  const cell h = parse_cell(f[1]);
  const int res = std::stoi(f[2]);
  const auto center = cell_to_center_child(h, res);
  record("children.center", center && cell_to_string(*center) == f[3], f[1]);
  const auto kids = cell_to_children(h, res);
  const std::string got = kids ? joined_sorted(*kids) : "error";
  record("children", got == f[4], f[1] + " res " + f[2] + " got " + got);
}

void check_disk(const std::vector<std::string>& f) {
  const cell h = parse_cell(f[1]);
  const int k = std::stoi(f[2]);
  const std::vector<std::string> want = split(f[3], '|');
  const auto rings = grid_disk_distances(h, k);
  std::string got;
  bool ok = rings.ok() && rings->size() == want.size();
  for (std::size_t d = 0; ok && d < want.size(); ++d) {
    const std::string g = joined_sorted((*rings)[d]);
    got += g + "|";
    ok = g == want[d];
  }
  // gridDisk itself must give the union of the rings.
  const auto disk = grid_disk(h, k);
  std::vector<std::string> want_all = split(f[3], '|');
  std::set<std::string> want_set;
  for (const std::string& ring : want_all)
    for (const std::string& c : split(ring, ','))
      want_set.insert(c);
  std::set<std::string> got_set;
  if (disk)
    for (cell c : *disk)
      got_set.insert(cell_to_string(c));
  record("disk.rings", ok, f[1] + " k " + f[2] + " got " + got);
  record("disk.set", disk && got_set == want_set && disk->size() == want_set.size(), f[1]);
}

void check_dist(const std::vector<std::string>& f) {
  std::int64_t d = 0;
  const h3_status st = grid_distance_status(parse_cell(f[1]), parse_cell(f[2]), d);
  const std::string got = st == h3_status::success
                              ? std::to_string(d)
                              : "E" + std::to_string(static_cast<int>(st));
  record("dist", got == f[3], f[1] + " " + f[2] + " got " + got + " want " + f[3]);
}

void check_valid(const std::vector<std::string>& f) {
  const bool got = is_valid_cell(parse_cell(f[1]));
  record("valid", got == (f[2] == "1"), f[1]);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: h3_golden_check FILE.tsv\n";
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::cerr << "h3_golden_check: cannot open " << argv[1] << "\n";
    return 2;
  }
  std::string line;
  long records = 0;
  while (std::getline(in, line)) {
    if (line.empty())
      continue;
    const std::vector<std::string> f = split(line, '\t');
    const std::string& kind = f[0];
    if (kind == "meta")
      continue;
    records++;
    if (kind == "ll")
      check_ll(f);
    else if (kind == "cell")
      check_cell(f);
    else if (kind == "children")
      check_children(f);
    else if (kind == "disk")
      check_disk(f);
    else if (kind == "dist")
      check_dist(f);
    else if (kind == "valid")
      check_valid(f);
    else
      records--;
  }
  long mismatched = 0;
  long checked = 0;
  std::cout << "h3_golden_check " << argv[1] << ": " << records << " records\n";
  for (const auto& [kind, t] : tallies) {
    std::cout << "  " << kind << ": checked " << t.checked << ", mismatched "
              << (kind == "ll-vertex(soft)" ? vertex_flips : t.mismatched) << "\n";
    checked += t.checked;
    mismatched += t.mismatched;
  }
  std::cout << "total: checked " << checked << ", mismatched " << mismatched
            << " (vertex tie flips, not failures: " << vertex_flips
            << "; polar-cap points compared as z and east-west distance: " << polar_relaxed << ")\n";
  return mismatched == 0 ? 0 : 1;
}
