#include "geo/detail/index_faceijk.hpp"

namespace courier::geo::detail {

index_t rotate_index60ccw(index_t h) {
  const int res = get_res(h);
  for (int r = 1; r <= res; ++r)
    h = set_digit(h, r, rotate60ccw(get_digit(h, r)));
  return h;
}

index_t rotate_index60cw(index_t h) {
  const int res = get_res(h);
  for (int r = 1; r <= res; ++r)
    h = set_digit(h, r, rotate60cw(get_digit(h, r)));
  return h;
}

namespace {
// A pentagon has no k-axis child: if rotating brings the leading digit onto
// k, rotate once more (in the same sense) to skip the deleted subsequence.
template <class RotateDigit, class RotateIndex>
index_t rotate_pent(index_t h, RotateDigit rotate_digit, RotateIndex rotate_index) {
  bool found_first_non_zero = false;
  const int res = get_res(h);
  for (int r = 1; r <= res; ++r) {
    h = set_digit(h, r, rotate_digit(get_digit(h, r)));
    if (!found_first_non_zero && get_digit(h, r) != center_digit) {
      found_first_non_zero = true;
      if (leading_non_zero_digit(h) == k_axes_digit)
        h = rotate_index(h);
    }
  }
  return h;
}
} // namespace

index_t rotate_pent_index60ccw(index_t h) {
  return rotate_pent(h, rotate60ccw, rotate_index60ccw);
}

index_t rotate_pent_index60cw(index_t h) {
  return rotate_pent(h, rotate60cw, rotate_index60cw);
}

namespace {
bool out_of_res0_range(coord_ijk c) {
  return c.i > max_face_coord || c.j > max_face_coord || c.k > max_face_coord;
}

// Orients the digits into the base cell's frame, skipping a pentagon's
// deleted k subsequence.
index_t orient_to_base_cell(index_t h, int bc, const face_ijk& f_bc, int rotations) {
  if (!is_base_cell_pentagon(bc)) {
    for (int i = 0; i < rotations; ++i)
      h = rotate_index60ccw(h);
    return h;
  }
  if (leading_non_zero_digit(h) == k_axes_digit) {
    h = base_cell_is_cw_offset(bc, f_bc.face) ? rotate_index60cw(h) : rotate_index60ccw(h);
  }
  for (int i = 0; i < rotations; ++i)
    h = rotate_pent_index60ccw(h);
  return h;
}
} // namespace

index_t face_ijk_to_index(const face_ijk& f, int res) {
  index_t h = set_res(set_mode(index_init, cell_mode), res);
  if (res == 0) {
    if (out_of_res0_range(f.coord))
      return 0;
    return set_base_cell(h, face_ijk_to_base_cell(f).base_cell);
  }
  // Climb from res to res 0, recording at each level the offset of the
  // cell from its parent's center child as the digit.
  face_ijk f_bc = f;
  coord_ijk& ijk = f_bc.coord;
  for (int r = res - 1; r >= 0; --r) {
    const coord_ijk last = ijk;
    coord_ijk last_center;
    if (is_class3(r + 1)) {
      up_ap7(ijk);
      last_center = ijk;
      down_ap7(last_center);
    } else {
      up_ap7r(ijk);
      last_center = ijk;
      down_ap7r(last_center);
    }
    coord_ijk diff = ijk_sub(last, last_center);
    ijk_normalize(diff);
    h = set_digit(h, r + 1, unit_ijk_to_digit(diff));
  }
  if (out_of_res0_range(ijk))
    return 0;
  const base_cell_orient bco = face_ijk_to_base_cell(f_bc);
  h = set_base_cell(h, bco.base_cell);
  return orient_to_base_cell(h, bco.base_cell, f_bc, bco.ccw_rot60);
}

bool index_to_face_ijk_from_home(index_t h, face_ijk& f) {
  coord_ijk& ijk = f.coord;
  const int res = get_res(h);
  // A hexagon base cell's center child chain stays on its home face.
  const bool possible_overage =
      is_base_cell_pentagon(get_base_cell(h)) || !(res == 0 || (ijk.i == 0 && ijk.j == 0 && ijk.k == 0));
  for (int r = 1; r <= res; ++r) {
    if (is_class3(r))
      down_ap7(ijk);
    else
      down_ap7r(ijk);
    ijk_neighbor(ijk, get_digit(h, r));
  }
  return possible_overage;
}

face_ijk index_to_face_ijk(index_t h) {
  const int bc = get_base_cell(h);
  // All of the pentagon's 5 subsequence must be adjusted (4 is skipped).
  if (is_base_cell_pentagon(bc) && leading_non_zero_digit(h) == ik_axes_digit)
    h = rotate_index60cw(h);

  face_ijk f = base_cell_data[bc].home;
  if (!index_to_face_ijk_from_home(h, f))
    return f;

  // The cell may lie on a neighboring face ("overage"); work on the Class
  // II grid, one finer if needed.
  const coord_ijk orig = f.coord;
  int res = get_res(h);
  if (is_class3(res)) {
    down_ap7r(f.coord);
    res++;
  }
  const bool pent_leading4 =
      is_base_cell_pentagon(bc) && leading_non_zero_digit(h) == i_axes_digit;
  if (adjust_overage_class2(f, res, pent_leading4, false) != overage::none) {
    // A pentagon base cell can need more than one step.
    if (is_base_cell_pentagon(bc)) {
      while (adjust_overage_class2(f, res, false, false) != overage::none) {
      }
    }
    if (res != get_res(h))
      up_ap7r(f.coord);
  } else if (res != get_res(h)) {
    f.coord = orig;
  }
  return f;
}

} // namespace courier::geo::detail
