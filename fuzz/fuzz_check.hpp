#pragma once
/// \file
/// What every fuzz target shares: FUZZ_CHECK, an always-on check that
/// aborts with the expression (libFuzzer then saves the input as a crash;
/// the replay driver fails its test).

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(expr)                                                        \
  ((expr) ? static_cast<void>(0)                                                \
          : (std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__,   \
                          __LINE__, #expr),                                     \
             std::abort()))
