#pragma once
/// \file
/// Numeric constants of the H3 projection, and the angle normalization the
/// reference uses. All arithmetic is plain double: the golden vectors
/// (h3-js 4.5.0) agree bit for bit with double evaluation, not with
/// extended-precision intermediates, and so do the operation orders below
/// (multiplying by reciprocals where the reference does).

namespace courier::geo::detail {

/// 2 pi.
inline constexpr double two_pi = 6.28318530717958647692528676655900576839433;
/// Angles or lengths below this are treated as zero (radians).
inline constexpr double epsilon = 0.0000000000000001;
/// sqrt(3) / 2 = sin(60 degrees).
inline constexpr double sqrt3_2 = 0.8660254037844386467637231707529361834714;
/// 1 / sin(60 degrees).
inline constexpr double rsin60 = 1.1547005383792515290182975610039149112953;
/// 1 / 7, used to invert aperture-7 steps.
inline constexpr double one_seventh = 0.14285714285714285714285714285714285;
/// Rotation between Class II and Class III axes: asin(sqrt(3 / 28)).
inline constexpr double ap7_rot_rads = 0.333473172251832115336090755351601070065900389;
/// Resolution-0 hex2d unit length in gnomonic units.
inline constexpr double res0_u_gnomonic = 0.38196601125010500003;
/// 1 / res0_u_gnomonic.
inline constexpr double inv_res0_u_gnomonic = 2.61803398874989588842;
/// sqrt(7): the scale between successive resolutions.
inline constexpr double sqrt7 = 2.6457513110645905905016157536392604257102;
/// 1 / sqrt(7).
inline constexpr double rsqrt7 = 0.37796447300922722721451653623418006081576;
/// 1 / 3 (substrate grid scale).
inline constexpr double one_third = 0.333333333333333333333333333333333333333;

/// Number of faces of the icosahedron.
inline constexpr int face_count = 20;

/// Angle in [0, 2 pi).
inline double pos_angle_rads(double rads) {
  double tmp = (rads < 0.0) ? rads + two_pi : rads;
  if (rads >= two_pi)
    tmp -= two_pi;
  return tmp;
}

} // namespace courier::geo::detail
