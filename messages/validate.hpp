#pragma once
/// \file
/// Value rules of the client protocol, checked after decoding (decoders
/// check shape only). The gateway calls validate() on every decoded inbound
/// envelope and answers bad_request with its message, which names the field.
/// Pure: no CAF, no I/O.

#include "core/limits.hpp"
#include "core/result.hpp"
#include "messages/client.hpp"

#include <cstddef>
#include <cstdint>

namespace courier::msg {

/// Longest free-text field (token, reason, message).
inline constexpr std::size_t text_chars_max = 2048;
/// Longest accepted prep time of accept_order.
inline constexpr std::uint32_t prep_minutes_max = 240;
static_assert(core::limits::id_chars_max <= text_chars_max);
static_assert(text_chars_max < core::limits::frame_bytes_max);

/// Checks every value rule of `in`:
/// - numbers finite; `lat` in [-90, 90], `lng` in [-180, 180]; distances,
///   radii, accuracy and speed >= 0; `heading_deg` in [0, 360)
/// - ids (and sku, cell, target) non-empty and <= core::limits::id_chars_max;
///   free text <= text_chars_max
/// - `items` non-empty and <= core::limits::order_items_max; `qty` >= 1;
///   `price`, `total` >= 0; `total` == sum of qty * price (minor units)
/// - `prep_minutes` <= prep_minutes_max; `radius_m` > 0 (except `restore`)
/// - enum values known; a rider's `status` is picked_up/delivering/delivered;
///   `orders_by_status` keys are order statuses; `target` is `store:<id>`
///   or an H3 cell (hex), `cell` an H3 cell
/// The first failure is returned as bad_request "field 'x': ...".
core::result<core::unit_t> validate(const envelope& in);

/// The same rules for one body (no ref).
core::result<core::unit_t> validate(const client_body& in);

} // namespace courier::msg
