// Crash test for retention (issue #13): a child process runs finished
// orders through their life the way the journal actor does (journal the
// order; later put its final state in the archive and sync; then drop its
// stream, sync the journal and compact), reporting each step through a
// pipe; the parent SIGKILLs it at random moments, often between the archive
// and the drop. After each kill: every order whose journal write was
// acknowledged is in the journal or in the archive (never in neither), an
// acknowledged archive put is readable, an acknowledged drop stays dropped,
// and archiving again what is in both (the duplicate a crash leaves) ends
// with the order only in the archive.
#include "storage/archive_file.hpp"
#include "storage/file_backend.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <random>

using namespace courier;
using namespace courier::storage;

namespace {

constexpr int kills_n = 12;
constexpr int kill_after_ms_min = 50;
constexpr int kill_after_ms_max = 400;
constexpr std::uint32_t orders_per_run_max = 1'000'000;

/// What the child reports: order number and the step it made durable.
enum class step : std::uint32_t { journaled = 1, archived = 2, dropped = 3 };
struct report {
  std::uint32_t order;
  step what;
};

std::string name_of(std::uint32_t order) { return "order:c-" + std::to_string(order); }
std::string final_state(std::uint32_t order) { return "delivered #" + std::to_string(order); }

file_backend_options journal_options() {
  file_backend_options o;
  o.segment_bytes_max = 16 * 1024; // rolls and compactions happen within a run
  return o;
}

void tell(int fd, std::uint32_t order, step what) {
  report r{order, what};
  if (::write(fd, &r, sizeof r) != static_cast<ssize_t>(sizeof r))
    ::_exit(6);
}

/// The child: orders `first`.. one after another, each journaled, then
/// archived, then dropped; compacts after each drop.
[[noreturn]] void run_child(const std::string& dir, std::uint32_t first, int fd) {
  auto j = file_backend::open(dir + "/journal", journal_options());
  auto a = file_archive::open(dir + "/archive");
  if (!j.ok() || !a.ok())
    ::_exit(2);
  for (std::uint32_t o = first;; ++o) {
    const auto stream = name_of(o);
    if (!(*j)->append({stream, 0, {"placed", "paid", "delivered"}}).ok() || !(*j)->sync().ok())
      ::_exit(3);
    tell(fd, o, step::journaled);
    if (!(*a)->put(stream, final_state(o), 0).ok() || !(*a)->sync().ok())
      ::_exit(4);
    tell(fd, o, step::archived);
    if (!(*j)->drop(stream, 3).ok() || !(*j)->sync().ok())
      ::_exit(5);
    tell(fd, o, step::dropped);
    if (!(*j)->compact().ok())
      ::_exit(7);
  }
}

/// Runs a child for `run_ms`, then SIGKILLs it; returns every order's
/// furthest reported step.
void run_and_kill(const std::string& dir, std::uint32_t first, int run_ms,
                  std::map<std::uint32_t, step>& steps) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    run_child(dir, first, fds[1]);
  }
  ::close(fds[1]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  auto take = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0)
      return false;
    report r{};
    if (::read(fds[0], &r, sizeof r) != static_cast<ssize_t>(sizeof r))
      return false;
    steps[r.order] = std::max(steps[r.order], r.what);
    return true;
  };
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0 || !take(static_cast<int>(left)))
      break;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  while (take(0)) {
  }
  ::close(fds[0]);
  REQUIRE_MESSAGE(WIFSIGNALED(status), "child exited on its own, code ", WEXITSTATUS(status));
}

std::uint64_t pick_seed() {
  if (const char* env = std::getenv("COURIER_SEED"))
    return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

} // namespace

TEST_CASE("a_kill_between_archive_and_drop_leaves_a_duplicate_never_a_loss") {
  const auto seed = pick_seed();
  MESSAGE("COURIER_SEED=", seed);
  std::mt19937_64 rng(seed);
  testing::temp_dir dir;
  std::map<std::uint32_t, step> steps;
  std::uint32_t first = 0;
  std::size_t duplicates = 0;
  for (int k = 0; k < kills_n; ++k) {
    const int run_ms = kill_after_ms_min +
                       static_cast<int>(rng() % (kill_after_ms_max - kill_after_ms_min));
    run_and_kill(dir.path(), first, run_ms, steps);
    auto j = file_backend::open(dir.path() + "/journal", journal_options());
    REQUIRE(j.ok());
    auto a = file_archive::open(dir.path() + "/archive");
    REQUIRE(a.ok());
    for (auto& [order, reached] : steps) {
      const auto stream = name_of(order);
      const auto in_journal = (*j)->version(stream);
      auto archived = (*a)->get(stream);
      REQUIRE(archived.ok());
      CHECK_MESSAGE((in_journal == 3 || *archived), stream, " is lost");
      if (reached >= step::archived)
        CHECK(*archived == final_state(order));
      if (reached >= step::dropped)
        CHECK(in_journal == 0);
      if (in_journal == 3 && *archived) {
        // The duplicate: archiving again (idempotent) and dropping ends it.
        ++duplicates;
        REQUIRE((*a)->put(stream, final_state(order), 0).ok());
        REQUIRE((*a)->sync().ok());
        REQUIRE((*j)->drop(stream, 3).ok());
        REQUIRE((*j)->sync().ok());
        steps[order] = step::dropped;
      }
    }
    first += orders_per_run_max; // the next run's names never meet these
  }
  MESSAGE(steps.size(), " orders, ", duplicates, " left in both by a kill and finished");
  CHECK(steps.size() > 0);
}
