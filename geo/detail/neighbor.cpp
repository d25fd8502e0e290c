#include "geo/detail/neighbor.hpp"

#include "geo/detail/base_cells.hpp"
#include "geo/detail/index_faceijk.hpp"

namespace courier::geo::detail {

const digit ring_directions[6] = {j_axes_digit,  jk_axes_digit, k_axes_digit,
                                  ik_axes_digit, i_axes_digit,  ij_axes_digit};

namespace {
// Traversal tables (H3's algos.c): current digit -> direction -> new digit,
// and -> the move still to make one resolution coarser. As in H3, the
// "class2" pair applies to digits of odd (Class III) resolutions.
const int new_digit_class2[7][7] = {
    {0, 1, 2, 3, 4, 5, 6}, {1, 4, 3, 6, 5, 2, 0}, {2, 3, 1, 4, 6, 0, 5}, {3, 6, 4, 5, 0, 1, 2},
    {4, 5, 6, 0, 2, 3, 1}, {5, 2, 0, 1, 3, 6, 4}, {6, 0, 5, 2, 1, 4, 3}};
const int new_adjust_class2[7][7] = {
    {0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 1, 0, 5, 0}, {0, 0, 2, 3, 0, 0, 2}, {0, 1, 3, 3, 0, 0, 0},
    {0, 0, 0, 0, 4, 4, 6}, {0, 5, 0, 0, 4, 5, 0}, {0, 0, 2, 0, 6, 0, 6}};
const int new_digit_class3[7][7] = {
    {0, 1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6, 0}, {2, 3, 4, 5, 6, 0, 1}, {3, 4, 5, 6, 0, 1, 2},
    {4, 5, 6, 0, 1, 2, 3}, {5, 6, 0, 1, 2, 3, 4}, {6, 0, 1, 2, 3, 4, 5}};
const int new_adjust_class3[7][7] = {
    {0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 3, 0, 1, 0}, {0, 0, 2, 2, 0, 0, 6}, {0, 3, 2, 3, 0, 0, 0},
    {0, 0, 0, 0, 4, 5, 4}, {0, 1, 0, 0, 5, 5, 0}, {0, 0, 6, 0, 4, 0, 6}};

// Adjusts the digits (and, at the top, the base cell) for one step.
// Returns the new-base-cell rotations, or -1 on an invalid digit.
int step_digits(index_t& out, digit dir, int& rotations) {
  const int old_bc = get_base_cell(out);
  for (int r = get_res(out) - 1;; --r) {
    if (r == -1) {
      out = set_base_cell(out, base_cell_neighbors[old_bc][dir]);
      int new_rotations = base_cell_neighbor_rots[old_bc][dir];
      if (get_base_cell(out) == invalid_base_cell) {
        // The deleted k vertex at the base cell level: this edge borders
        // the ik neighbor instead.
        out = set_base_cell(out, base_cell_neighbors[old_bc][ik_axes_digit]);
        new_rotations = base_cell_neighbor_rots[old_bc][ik_axes_digit];
        out = rotate_index60ccw(out);
        rotations += 1;
      }
      return new_rotations;
    }
    const digit old_digit = get_digit(out, r + 1);
    if (old_digit == invalid_digit)
      return -1;
    const bool class3 = (r + 1) % 2 != 0;
    out = set_digit(out, r + 1, (class3 ? new_digit_class2 : new_digit_class3)[old_digit][dir]);
    const digit next = static_cast<digit>(
        (class3 ? new_adjust_class2 : new_adjust_class3)[old_digit][dir]);
    if (next == center_digit)
      return 0;
    dir = next;
  }
}

// Rotates out of a pentagon's deleted k subsequence after the step.
h3_status leave_deleted_k(index_t& out, int old_bc, digit old_leading, int& rotations,
                          bool& already_adjusted) {
  const int new_bc = get_base_cell(out);
  if (leading_non_zero_digit(out) != k_axes_digit)
    return h3_status::success;
  if (old_bc != new_bc) {
    // Entered the deleted subsequence from another base cell.
    out = base_cell_is_cw_offset(new_bc, base_cell_data[old_bc].home.face)
              ? rotate_index60cw(out)
              : rotate_index60ccw(out);
    already_adjusted = true;
    return h3_status::success;
  }
  // Entered it from within the same pentagon base cell.
  if (old_leading == center_digit)
    return h3_status::pentagon;
  if (old_leading == jk_axes_digit) {
    out = rotate_index60ccw(out);
    rotations += 1;
  } else if (old_leading == ik_axes_digit) {
    out = rotate_index60cw(out);
    rotations += 5;
  } else {
    return h3_status::failed;
  }
  return h3_status::success;
}
} // namespace

h3_status neighbor_rotations(index_t origin, digit dir, int& rotations, index_t& out) {
  if (dir < center_digit || dir >= invalid_digit)
    return h3_status::failed;
  rotations = rotations % 6;
  for (int i = 0; i < rotations; ++i)
    dir = rotate60ccw(dir);

  out = origin;
  const int old_bc = get_base_cell(out);
  if (old_bc >= base_cell_total)
    return h3_status::cell_invalid;
  const digit old_leading = leading_non_zero_digit(out);
  const int new_rotations = step_digits(out, dir, rotations);
  if (new_rotations < 0)
    return h3_status::cell_invalid;

  const int new_bc = get_base_cell(out);
  if (!is_base_cell_pentagon(new_bc)) {
    for (int i = 0; i < new_rotations; ++i)
      out = rotate_index60ccw(out);
  } else {
    bool already_adjusted = false;
    const h3_status st = leave_deleted_k(out, old_bc, old_leading, rotations, already_adjusted);
    if (st != h3_status::success)
      return st;
    for (int i = 0; i < new_rotations; ++i)
      out = rotate_pent_index60ccw(out);
    // Base cells differ in orientation across this edge.
    if (old_bc != new_bc) {
      if (is_base_cell_polar_pentagon(new_bc)) {
        // Polar pentagons have all-i neighbors.
        if (old_bc != 118 && old_bc != 8 && leading_non_zero_digit(out) != jk_axes_digit)
          rotations += 1;
      } else if (leading_non_zero_digit(out) == ik_axes_digit && !already_adjusted) {
        // Distortion of the 5 neighbor by the deleted k subsequence.
        rotations += 1;
      }
    }
  }
  rotations = (rotations + new_rotations) % 6;
  return h3_status::success;
}

} // namespace courier::geo::detail

namespace courier::geo::detail {

namespace {
// Local ijk tables (H3's localij.c). Rotations (60 degrees cw) to unfold
// across a pentagon: origin leading digit -> index leading digit.
const int pentagon_rotations[7][7] = {
    {0, -1, 0, 0, 0, 0, 0},       {-1, -1, -1, -1, -1, -1, -1}, {0, -1, 0, 0, 0, 1, 0},
    {0, -1, 0, 0, 1, 1, 0},       {0, -1, 0, 5, 0, 0, 0},       {0, -1, 5, 5, 0, 0, 0},
    {0, -1, 0, 0, 0, 0, 0}};
// Unfoldings across more than one icosahedron face are refused.
const bool failed_directions[7][7] = {
    {false, false, false, false, false, false, false},
    {false, false, false, false, false, false, false},
    {false, false, false, false, true, true, false},
    {false, false, false, false, true, false, true},
    {false, false, true, true, false, false, false},
    {false, false, true, false, false, false, true},
    {false, false, false, true, false, true, false}};

// Rotates `h` into the origin base cell's frame (cw undoes the rotation
// into the neighbor), tracking the reverse direction alongside.
index_t rotate_into_origin_frame(index_t h, int rotations, bool on_pentagon, digit& rev_dir) {
  for (int i = 0; i < rotations; ++i) {
    if (on_pentagon) {
      h = rotate_pent_index60cw(h);
      rev_dir = rotate60cw(rev_dir);
      if (rev_dir == k_axes_digit)
        rev_dir = rotate60cw(rev_dir);
    } else {
      h = rotate_index60cw(h);
      rev_dir = rotate60cw(rev_dir);
    }
  }
  return h;
}

// Offset of the neighboring base cell's origin at resolution `res`.
coord_ijk base_cell_offset(digit dir, int res, int direction_rotations) {
  coord_ijk offset{};
  ijk_neighbor(offset, dir);
  for (int r = res - 1; r >= 0; --r) {
    if (is_class3(r + 1))
      down_ap7(offset);
    else
      down_ap7r(offset);
  }
  for (int i = 0; i < direction_rotations; ++i)
    ijk_rotate60cw(offset);
  return offset;
}

// Unfolding when origin and index are on neighboring base cells.
h3_status unfold_neighbor(index_t origin, index_t h, digit dir, digit rev_dir, int res,
                          coord_ijk& ijk) {
  const bool origin_on_pent = is_base_cell_pentagon(get_base_cell(origin));
  const bool index_on_pent = is_base_cell_pentagon(get_base_cell(h));
  int pentagon_rots = 0;
  int direction_rots = 0;
  if (origin_on_pent) {
    const digit lead = leading_non_zero_digit(origin);
    if (failed_directions[lead][dir])
      return h3_status::failed;
    direction_rots = pentagon_rotations[lead][dir];
    pentagon_rots = direction_rots;
  } else if (index_on_pent) {
    const digit lead = leading_non_zero_digit(h);
    if (failed_directions[lead][rev_dir])
      return h3_status::failed;
    pentagon_rots = pentagon_rotations[rev_dir][lead];
  }
  if (pentagon_rots < 0 || direction_rots < 0)
    return h3_status::cell_invalid;
  for (int i = 0; i < pentagon_rots; ++i)
    ijk_rotate60cw(ijk);
  ijk = ijk_add(ijk, base_cell_offset(dir, res, direction_rots));
  ijk_normalize(ijk);
  return h3_status::success;
}
} // namespace

h3_status cell_to_local_ijk(index_t origin, index_t h, coord_ijk& out) {
  const int res = get_res(origin);
  if (res != get_res(h))
    return h3_status::res_mismatch;
  const int origin_bc = get_base_cell(origin);
  const int bc = get_base_cell(h);
  if (origin_bc >= base_cell_total || bc >= base_cell_total)
    return h3_status::cell_invalid;

  digit dir = center_digit;
  digit rev_dir = center_digit;
  if (origin_bc != bc) {
    dir = base_cell_direction(origin_bc, bc);
    if (dir == invalid_digit)
      return h3_status::failed; // not neighbors: cannot unfold
    rev_dir = base_cell_direction(bc, origin_bc);
    h = rotate_into_origin_frame(h, base_cell_neighbor_rots[origin_bc][dir],
                                 is_base_cell_pentagon(bc), rev_dir);
  }
  // Coordinates in the base cell's frame (the face is not used).
  face_ijk f{0, {}};
  index_to_face_ijk_from_home(h, f);
  if (dir != center_digit) {
    const h3_status st = unfold_neighbor(origin, h, dir, rev_dir, res, f.coord);
    if (st != h3_status::success)
      return st;
  } else if (is_base_cell_pentagon(origin_bc) && is_base_cell_pentagon(bc)) {
    const digit origin_lead = leading_non_zero_digit(origin);
    const digit lead = leading_non_zero_digit(h);
    if (failed_directions[origin_lead][lead])
      return h3_status::failed;
    for (int i = 0; i < pentagon_rotations[origin_lead][lead]; ++i)
      ijk_rotate60cw(f.coord);
  }
  out = f.coord;
  return h3_status::success;
}

} // namespace courier::geo::detail
