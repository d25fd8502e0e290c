#include "core/clock.hpp"

#include <chrono>

namespace courier::core {
time_ms system_clock::now_ms() const noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
} // namespace courier::core
