#pragma once
/// \file
/// `entity_ref`: how everything in Courier names an entity, `(kind, key)`,
/// e.g. ("order", "o-123") or ("region", "872830828ffffff"). Code never
/// keeps another entity's actor handle; it sends to an entity_ref through
/// the router, which finds (or activates) the live actor.

#include <functional>
#include <ostream>
#include <string>

namespace courier::cluster {

struct entity_ref {
  std::string kind;
  std::string key;

  /// "kind:key", also the entity's journal stream name.
  std::string str() const { return kind + ":" + key; }

  friend bool operator==(const entity_ref& a, const entity_ref& b) {
    return a.kind == b.kind && a.key == b.key;
  }
  friend bool operator!=(const entity_ref& a, const entity_ref& b) {
    return !(a == b);
  }
  friend bool operator<(const entity_ref& a, const entity_ref& b) {
    return a.kind != b.kind ? a.kind < b.kind : a.key < b.key;
  }
  friend std::ostream& operator<<(std::ostream& os, const entity_ref& x) {
    return os << x.kind << ':' << x.key;
  }
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, entity_ref& x) {
    return f(x.kind, x.key);
  }
};

} // namespace courier::cluster

template <>
struct std::hash<courier::cluster::entity_ref> {
  std::size_t operator()(const courier::cluster::entity_ref& x) const noexcept {
    auto h = std::hash<std::string>{}(x.kind);
    return h ^ (std::hash<std::string>{}(x.key) + 0x9e3779b97f4a7c15ULL +
                (h << 6) + (h >> 2));
  }
};
