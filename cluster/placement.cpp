#include "cluster/placement.hpp"

namespace courier::cluster {
namespace {
constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

std::uint64_t fnv1a(std::uint64_t h, const std::string& s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
} // namespace

std::uint64_t placement_weight(const std::string& member_id, const entity_ref& ref) {
  // Separators keep ("ab","c") and ("a","bc") apart.
  auto h = fnv1a(fnv_offset, member_id);
  h = fnv1a(h ^ 0x1f, ref.kind);
  h = fnv1a(h ^ 0x1e, ref.key);
  return splitmix64(h);
}

int place(const std::vector<std::string>& member_ids, const entity_ref& ref) {
  int best = -1;
  std::uint64_t best_w = 0;
  for (std::size_t i = 0; i < member_ids.size(); ++i) {
    auto w = placement_weight(member_ids[i], ref);
    if (best < 0 || w > best_w ||
        (w == best_w && member_ids[i] < member_ids[static_cast<std::size_t>(best)])) {
      best = static_cast<int>(i);
      best_w = w;
    }
  }
  return best;
}

} // namespace courier::cluster
