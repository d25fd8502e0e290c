#pragma once
/// \file
/// Conversion between H3 indexes and face + ijk+ coordinates: the digits
/// of an index are the aperture-7 path from its base cell down to the cell.

#include "geo/detail/face_ijk.hpp"
#include "geo/detail/index_bits.hpp"

namespace courier::geo::detail {

/// The index of the cell at `f` (resolution `res`); 0 if the coordinates
/// are out of range for a res-0 lookup.
index_t face_ijk_to_index(const face_ijk& f, int res);

/// Face + coordinates of a valid cell index, on the face that contains its
/// center.
face_ijk index_to_face_ijk(index_t h);

/// Walks the digits of `h` from `f` (initialized to the base cell's home
/// coordinates). Returns true if the result may lie off the home face.
bool index_to_face_ijk_from_home(index_t h, face_ijk& f);

} // namespace courier::geo::detail
