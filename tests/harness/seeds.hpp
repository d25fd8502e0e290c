#pragma once
/// \file
/// Seeded property loops with one policy for every property test.
///
/// A loop runs, in this order: the test's named regression seeds (each
/// once found failing, kept forever), then `count` consecutive seeds from a
/// base. The base is fixed per label by default, so the default run is the
/// same run every time: CI cannot turn red on work that did not change what
/// the test exercises. Exploration is opt-in:
/// - `COURIER_SEED=S`          run seed S alone (the replay line prints it);
/// - `COURIER_SEEDS=N`         N seeds from the base (default: the test's);
/// - `COURIER_SEED_BASE=B`     start at B; `random` draws a fresh base
///                             (scripts/seed-hunt.sh walks ranges this way).
///
/// Every failure names its seed and the line that replays it, exceptions
/// included: a seed that throws is caught, reported and counted as failed,
/// and the loop goes on with the next seed (stopping after
/// `failing_seeds_max` failed seeds, so a broken build does not print
/// thousands of them).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace courier::harness {

/// What a seed loop did (for the test's closing MESSAGE).
struct seed_report {
  std::uint64_t base = 0;
  std::uint64_t run = 0;    ///< seeds run, regression seeds included
  std::uint64_t failed = 0; ///< seeds with a failed check or an exception
};

/// Failed seeds after which a loop stops.
constexpr std::uint64_t failing_seeds_max = 5;

/// Runs `one(seed)` for the regression seeds, then for `default_count`
/// seeds (or COURIER_SEEDS) from the label's base; see the file comment.
seed_report for_each_seed(const std::string& label, const std::vector<std::uint64_t>& regressions,
                          std::uint64_t default_count,
                          const std::function<void(std::uint64_t)>& one);

/// The base a label starts at when COURIER_SEED_BASE is not set: a hash of
/// the label, so each test walks its own fixed range.
std::uint64_t fixed_base(const std::string& label);

/// Failed doctest assertions in this process so far (a listener counts
/// them; a seed failed if the count grew while it ran).
std::uint64_t failed_assertions();

} // namespace courier::harness
