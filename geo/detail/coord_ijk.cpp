#include "geo/detail/coord_ijk.hpp"

#include "geo/detail/constants.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace courier::geo::detail {

const coord_ijk unit_vecs[digit_count] = {
    {0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {1, 0, 0}, {1, 0, 1}, {1, 1, 0},
};

void ijk_normalize(coord_ijk& c) {
  // Shift negative components onto the other two axes (i + j + k = 0 is a
  // null move), then remove the common minimum.
  if (c.i < 0) {
    c.j -= c.i;
    c.k -= c.i;
    c.i = 0;
  }
  if (c.j < 0) {
    c.i -= c.j;
    c.k -= c.j;
    c.j = 0;
  }
  if (c.k < 0) {
    c.i -= c.k;
    c.j -= c.k;
    c.k = 0;
  }
  const int min = std::min({c.i, c.j, c.k});
  if (min > 0) {
    c.i -= min;
    c.j -= min;
    c.k -= min;
  }
}

digit unit_ijk_to_digit(coord_ijk c) {
  ijk_normalize(c);
  for (int d = center_digit; d < digit_count; ++d) {
    if (c == unit_vecs[d])
      return static_cast<digit>(d);
  }
  return invalid_digit;
}

void ijk_neighbor(coord_ijk& c, digit d) {
  if (d > center_digit && d < digit_count) {
    c = ijk_add(c, unit_vecs[d]);
    ijk_normalize(c);
  }
}

namespace {
// Applies the linear map whose columns are the images of the unit i, j and
// k vectors; every rotation and aperture step is such a map.
void apply_basis(coord_ijk& c, coord_ijk i_vec, coord_ijk j_vec, coord_ijk k_vec) {
  c = ijk_add(ijk_add(ijk_scale(i_vec, c.i), ijk_scale(j_vec, c.j)), ijk_scale(k_vec, c.k));
  ijk_normalize(c);
}

int round_seventh(int n) {
  return static_cast<int>(std::lround(n * one_seventh));
}
} // namespace

void ijk_rotate60ccw(coord_ijk& c) { apply_basis(c, {1, 1, 0}, {0, 1, 1}, {1, 0, 1}); }
void ijk_rotate60cw(coord_ijk& c) { apply_basis(c, {1, 0, 1}, {1, 1, 0}, {0, 1, 1}); }
void down_ap7(coord_ijk& c) { apply_basis(c, {3, 0, 1}, {1, 3, 0}, {0, 1, 3}); }
void down_ap7r(coord_ijk& c) { apply_basis(c, {3, 1, 0}, {0, 3, 1}, {1, 0, 3}); }
void down_ap3(coord_ijk& c) { apply_basis(c, {2, 0, 1}, {1, 2, 0}, {0, 1, 2}); }
void down_ap3r(coord_ijk& c) { apply_basis(c, {2, 1, 0}, {0, 2, 1}, {1, 0, 2}); }

void up_ap7(coord_ijk& c) {
  const int i = c.i - c.k;
  const int j = c.j - c.k;
  c = {round_seventh(3 * i - j), round_seventh(i + 2 * j), 0};
  ijk_normalize(c);
}

void up_ap7r(coord_ijk& c) {
  const int i = c.i - c.k;
  const int j = c.j - c.k;
  c = {round_seventh(2 * i + j), round_seventh(3 * j - i), 0};
  ijk_normalize(c);
}

int ijk_distance(coord_ijk a, coord_ijk b) {
  coord_ijk d = ijk_sub(a, b);
  ijk_normalize(d);
  return std::max({std::abs(d.i), std::abs(d.j), std::abs(d.k)});
}

vec2 ijk_to_hex2d(coord_ijk c) {
  const int i = c.i - c.k;
  const int j = c.j - c.k;
  return {i - 0.5 * j, j * sqrt3_2};
}

namespace {
// Quantizes a point of the first sextant (x, y >= 0) given in skewed
// coordinates (x1 along i, x2 along j) to the hexagon containing it.
coord_ijk quantize_first_sextant(double x1, double x2) {
  const int m1 = static_cast<int>(x1);
  const int m2 = static_cast<int>(x2);
  const double r1 = x1 - m1;
  const double r2 = x2 - m2;
  coord_ijk h;
  if (r1 < 0.5) {
    if (r1 < 1.0 / 3.0) {
      h.i = m1;
      h.j = (r2 < (1.0 + r1) / 2.0) ? m2 : m2 + 1;
    } else {
      h.j = (r2 < (1.0 - r1)) ? m2 : m2 + 1;
      h.i = ((1.0 - r1) <= r2 && r2 < (2.0 * r1)) ? m1 + 1 : m1;
    }
  } else if (r1 < 2.0 / 3.0) {
    h.j = (r2 < (1.0 - r1)) ? m2 : m2 + 1;
    h.i = ((2.0 * r1 - 1.0) < r2 && r2 < (1.0 - r1)) ? m1 : m1 + 1;
  } else {
    h.i = m1 + 1;
    h.j = (r2 < (r1 / 2.0)) ? m2 : m2 + 1;
  }
  return h;
}
} // namespace

coord_ijk hex2d_to_ijk(vec2 v) {
  const double a1 = std::fabs(v.x);
  const double a2 = std::fabs(v.y);
  const double x2 = a2 * rsin60;
  const double x1 = a1 + x2 / 2.0;
  coord_ijk h = quantize_first_sextant(x1, x2);

  // Fold the first-sextant answer back across the axes the point came from.
  if (v.x < 0.0) {
    if (h.j % 2 == 0) {
      const long long axis_i = h.j / 2;
      const long long diff = h.i - axis_i;
      h.i = static_cast<int>(h.i - 2 * diff);
    } else {
      const long long axis_i = (h.j + 1) / 2;
      const long long diff = h.i - axis_i;
      h.i = static_cast<int>(h.i - (2 * diff + 1));
    }
  }
  if (v.y < 0.0) {
    h.i = h.i - (2 * h.j + 1) / 2;
    h.j = -h.j;
  }
  ijk_normalize(h);
  return h;
}

} // namespace courier::geo::detail
