#include "actors/payment_provider.hpp"

#include "actors/domain.hpp"
#include "core/assert.hpp"

namespace courier::actors {
namespace {

/// 64-bit FNV-1a, then a splitmix finaliser so nearby inputs spread well.
std::uint64_t mix(std::uint64_t seed, const std::string& text, std::uint64_t salt) {
  std::uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= salt + 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

/// A uniform number in [0, 1) from a hash.
double unit(std::uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

class simulated_provider final : public payment_provider {
public:
  simulated_provider(double decline, double timeout, double transient,
                     std::chrono::milliseconds latency, std::uint64_t seed)
      : decline_(decline), timeout_(timeout), transient_(transient),
        latency_(latency), seed_(seed) {
    COURIER_ASSERT(decline_ >= 0 && decline_ <= 1);
    COURIER_ASSERT(timeout_ + transient_ <= 1);
  }

  provider_decision decide(const provider_call& call) override {
    // The decline is per op, not per attempt: a retry of a declined
    // authorization is declined again, as a card would be.
    bool authorize = call.op == 0;
    if (authorize && unit(mix(seed_, call.op_id, 0)) < decline_)
      return {provider_answer::declined, latency_};
    double roll = unit(mix(seed_, call.op_id, call.attempt + 1));
    if (roll < timeout_)
      return {provider_answer::timeout, simulated_call_timeout};
    if (roll < timeout_ + transient_)
      return {provider_answer::transient, latency_};
    return {provider_answer::approved, latency_};
  }

private:
  double decline_;
  double timeout_;
  double transient_;
  std::chrono::milliseconds latency_;
  std::uint64_t seed_;
};

} // namespace

std::shared_ptr<payment_provider> make_simulated_provider(const domain_config& cfg,
                                                          std::uint64_t seed) {
  return std::make_shared<simulated_provider>(
      cfg.payment_decline_rate, cfg.payment_timeout_rate, cfg.payment_transient_rate,
      cfg.payment_latency, seed);
}

} // namespace courier::actors
