#pragma once
/// \file
/// Placement: rendezvous (highest random weight) hashing of an entity over
/// the cluster's members. Every node computes the same owner from the same
/// member list, and a membership change moves only the keys of the member
/// that came or went. Pure functions; no CAF.

#include "cluster/entity_ref.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace courier::cluster {

/// The weight of `member_id` for `ref`: a stable 64-bit hash (FNV-1a then
/// splitmix64 finalizer), the same on every machine and build.
std::uint64_t placement_weight(const std::string& member_id, const entity_ref& ref);

/// The index in `member_ids` of the owner of `ref` (highest weight; ties go to
/// the smaller id), or -1 when the list is empty.
int place(const std::vector<std::string>& member_ids, const entity_ref& ref);

} // namespace courier::cluster
