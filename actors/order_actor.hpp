#pragma once
/// \file
/// order:<order_id>: one order's life, its payment saga and its pushes.
///
/// Handles (protocol.hpp):
/// - place_order_cmd (customer) -> msg::order_placed; asks store:<id>
///   (store_check): unknown store -> not_found, closed or drop-off beyond the
///   effective radius -> out_of_area. Idempotent: the same customer and
///   request again -> the same order_placed; another customer -> conflict.
/// - order_cmd -> msg::ok_reply{version}; forbidden (wrong actor), conflict
///   (illegal or stale), not_found (never placed). Who: the customer
///   cancels until picked_up; its store accepts/rejects/cooking/ready; the
///   assigned rider picked_up/delivering/delivered; an admin any legal step
///   except the payment ones.
/// - assign_rider (dispatch) -> msg::ok_reply{version} or conflict.
/// - rider_moved (assigned rider): rider_position pushes (eta_s from the
///   great-circle distance of the rider's remaining leg / rider_speed_mps),
///   one rider_nearby within nearby_m of the drop-off, one rider_arriving to
///   the store within arriving_m of it before pickup.
/// - payment_result (payment:<id>), reminder_fired (reminder:<shard>).
/// - Retention (issue #13): a finished order that owes nothing is archived
///   cfg.order_retention after its final status (a durable reminder, set
///   with its last effect): the journal actor writes its final state to the
///   archive, then drops its order, payment and dispatch streams; the
///   activation goes on from its state, read-only. A later activation
///   finds no stream and reads the archive: queries and subscribe snapshots answer from it, a place_order
///   retry gets its order_placed, any other command `conflict` ("finished
///   and archived"); it never writes, so no empty order is ever recreated.
/// - subscribe_cmd -> msg::order_snapshot; unsubscribe_cmd -> msg::ok_reply;
///   order_query -> order_view. (customer, its store, its rider, admin.)
///
/// Every change is journaled before it is acknowledged or any effect leaves
/// (order_state decides, journal_events encodes). Effects the order owes
/// (payment requests, new_order to the store, dispatch_start/stop,
/// rider_released, the delay timer, the delays board) form an outbox derived
/// from the journaled state: sent after each change, re-sent every
/// order_effect_retry until confirmed (the confirmation is journaled too),
/// and re-sent after recovery. An activation that stops while it owes
/// effects (its key moved on a view change, idle or LRU passivation, a
/// fence) takes its retry tick with it, so it wakes its next activation
/// through the router (to the key's new owner if it moved), which recovers
/// and re-sends them. Receivers deduplicate. Pushes to
/// subscribers, store status notices, region deltas and rider positions are
/// best effort (a lost push is superseded by the next one or a snapshot).

#include "actors/domain.hpp"
#include "actors/protocol.hpp"
#include "cluster/entity.hpp"

#include <chrono>
#include <memory>

namespace courier::actors {

/// The order id a (customer, request) pair always maps to: "o-" and the
/// 128-bit FNV-1a hash of "customer\0request" in 32 lower-case hex digits.
/// The gateway uses it so a retried place_order reaches the same entity.
core::order_id order_id_for(const core::customer_id& customer,
                            const core::request_id& request);

/// How long placing waits for the store's answer.
inline constexpr std::chrono::milliseconds store_check_timeout{2000};
/// How long an outbox send waits for its receiver's confirmation.
inline constexpr std::chrono::milliseconds effect_ask_timeout{5000};
/// Unconfirmed effects are re-sent this often...
inline constexpr std::chrono::milliseconds order_effect_retry{5000};
/// ...at most this many rounds per activation; after that the durable
/// reminder re-activates the order (outbox_followup later) to try again.
inline constexpr std::uint32_t order_effect_rounds_max = 60;
/// When a fired reminder finds effects still owed, the next one is due
/// this much later.
inline constexpr std::chrono::milliseconds outbox_followup{std::chrono::minutes{1}};
/// Reminder tags the order uses.
inline const std::string delay_tag = "delay";
inline const std::string outbox_tag = "outbox";
/// The timer that archives a finished order after cfg.order_retention.
inline const std::string archive_tag = "archive";

/// Spawns the order entity of `ctx.self` (a router factory calls this).
caf::actor spawn_order_actor(caf::actor_system& sys, const cluster::entity_context& ctx,
                             std::shared_ptr<const domain_services> services);

} // namespace courier::actors
