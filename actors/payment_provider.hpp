#pragma once
/// \file
/// The payment provider seam. The payment entity asks the provider what a
/// call does and when its answer arrives; it never blocks: the answer is
/// delivered to the entity as a delayed message after `latency` (virtual
/// time in the harness). A real provider (HTTP) implements the same
/// interface by answering from its own client's callback; op_id is the
/// provider's idempotency key, so a retried call never charges twice.
///
/// The built-in simulated provider approves by default and declines, times
/// out or fails transiently at configured rates; every decision is a pure
/// function of (seed, op_id, attempt), so it is deterministic under any
/// interleaving and needs no lock.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace courier::actors {

struct domain_config;

/// One call to the provider.
struct provider_call {
  std::string op_id;            ///< idempotency key
  std::uint8_t op = 0;          ///< actors::payment_op
  std::int64_t amount_minor = 0;
  std::uint32_t attempt = 0;    ///< 0 for the first try
};

/// What became of a call.
enum class provider_answer : std::uint8_t {
  approved,  ///< done
  declined,  ///< final no (authorize only)
  transient, ///< try again later
  timeout,   ///< no answer within the call timeout: try again later
};

/// The answer and when it is known.
struct provider_decision {
  provider_answer answer = provider_answer::approved;
  std::chrono::milliseconds latency{0};
};

/// A payment provider (interface).
class payment_provider {
public:
  virtual ~payment_provider() = default;
  /// Decides `call`. Must be thread-safe (entities on many threads call it).
  virtual provider_decision decide(const provider_call& call) = 0;
};

/// How long the simulated provider stays silent on a timeout.
inline constexpr std::chrono::milliseconds simulated_call_timeout{2000};

/// The built-in simulated provider, configured from domain_config's
/// payment_* rates and latency, seeded by `seed`.
std::shared_ptr<payment_provider> make_simulated_provider(const domain_config& cfg,
                                                          std::uint64_t seed);

} // namespace courier::actors
