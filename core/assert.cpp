#include "core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace courier::core {
void assert_fail(const char* expr, const char* file, int line,
                 const char* func) noexcept {
  std::fprintf(stderr, "courier: assertion failed: %s\n  at %s:%d in %s\n", expr,
               file, line, func);
  std::fflush(stderr);
  std::abort();
}
} // namespace courier::core
