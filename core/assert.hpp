#pragma once
/// \file
/// The one always-on assertion: it stays in release builds, because a broken
/// invariant in a delivery system must stop the process loudly, not corrupt
/// an order quietly. Use it for programmer errors only; operating errors
/// (bad input, timeouts, I/O) are values (see result.hpp).

namespace courier::core {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line,
                              const char* func) noexcept;
} // namespace courier::core

#define COURIER_ASSERT(expr)                                                   \
  ((expr) ? static_cast<void>(0)                                               \
          : ::courier::core::assert_fail(#expr, __FILE__, __LINE__, __func__))
