#include "cluster/cluster_view.hpp"

#include "cluster/placement.hpp"

namespace courier::cluster {

std::vector<std::string> placement_ids(const cluster_view& v) {
  std::vector<std::string> ids;
  ids.reserve(v.members.size());
  for (auto& m : v.members)
    if (!m.draining)
      ids.push_back(m.id);
  return ids;
}

std::string owner_of(const cluster_view& v, const entity_ref& ref) {
  auto ids = placement_ids(v);
  auto i = place(ids, ref);
  return i < 0 ? std::string{} : ids[static_cast<std::size_t>(i)];
}

const member* find_member(const cluster_view& v, const std::string& id) {
  for (auto& m : v.members)
    if (m.id == id)
      return &m;
  return nullptr;
}

} // namespace courier::cluster
