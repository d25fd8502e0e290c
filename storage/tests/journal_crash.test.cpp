// Crash test: a child process journals in group commits and reports each
// acknowledged (synced) version through a pipe; the parent SIGKILLs it at a
// random moment, reopens the directory and checks that every acknowledged
// event survived with its exact payload, and that recovery leaves a clean
// journal. Seeded: set COURIER_SEED to replay a seed (the kill moment is
// still wall-clock, so a replay is close but not identical).
#include "storage/file_backend.hpp"
#include "storage/tests/temp_dir.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

using namespace courier;
using namespace courier::storage;

namespace {

constexpr std::size_t streams_n = 8;
constexpr int kills_n = 20;
constexpr int kill_after_ms_min = 200;
constexpr int kill_after_ms_max = 1000;
constexpr std::size_t group_appends_max = 32;
constexpr std::size_t events_per_append_max = 3;
constexpr std::size_t payload_bytes_max = 300;
constexpr std::size_t snapshot_one_in = 50; ///< appends per snapshot, roughly
constexpr std::uint64_t crash_segment_bytes_max = 1024 * 1024;

/// One acknowledgement on the pipe: stream index and its synced version.
struct ack {
  std::uint64_t stream;
  std::uint64_t version;
};
static_assert(sizeof(ack) * streams_n <= PIPE_BUF, "one atomic pipe write");

std::string stream_name(std::size_t s) {
  return "order:crash-" + std::to_string(s);
}

std::uint64_t mix(std::uint64_t x) { // splitmix64
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

/// The payload of event `v` of stream `s`: a pure function, so the parent
/// can check what the child wrote.
std::string event_payload(std::size_t s, version_t v) {
  const std::uint64_t h = mix(s * 1'000'003 + v);
  std::string out = std::to_string(s) + ":" + std::to_string(v) + ":";
  out.resize(out.size() + 1 + h % payload_bytes_max,
             static_cast<char>('A' + h % 26));
  return out;
}

std::string snapshot_payload(std::size_t s, version_t v) {
  return "snapshot " + std::to_string(s) + "@" + std::to_string(v);
}

file_backend_options crash_options() {
  file_backend_options options;
  options.segment_bytes_max = crash_segment_bytes_max;
  return options;
}

/// The child: journal forever; report every acknowledged version; with
/// `compacting`, compact after every group commit (so kills land in it).
[[noreturn]] void run_child(const std::string& dir, std::uint64_t seed,
                            int ack_fd, bool compacting) {
  auto opened = file_backend::open(dir, crash_options());
  if (!opened.ok()) {
    std::fprintf(stderr, "child: open failed: %s\n",
                 opened.err().message.c_str());
    ::_exit(2);
  }
  auto& j = **opened;
  std::mt19937_64 rng(seed);
  for (;;) {
    std::array<bool, streams_n> touched{};
    const std::size_t group = 1 + rng() % group_appends_max;
    for (std::size_t a = 0; a < group; ++a) {
      const std::size_t s = rng() % streams_n;
      append_request req{stream_name(s), j.version(stream_name(s)), {}};
      const std::size_t n = 1 + rng() % events_per_append_max;
      for (std::size_t e = 1; e <= n; ++e)
        req.events.push_back(event_payload(s, req.expected + e));
      auto appended = j.append(req);
      if (!appended.ok())
        ::_exit(3);
      if (rng() % snapshot_one_in == 0 &&
          !j.save_snapshot(req.stream, *appended, snapshot_payload(s, *appended))
               .ok())
        ::_exit(4);
      touched[s] = true;
    }
    if (!j.sync().ok())
      ::_exit(5);
    std::array<ack, streams_n> acks{};
    std::size_t count = 0;
    for (std::size_t s = 0; s < streams_n; ++s)
      if (touched[s])
        acks[count++] = ack{s, j.version(stream_name(s))};
    const auto bytes = count * sizeof(ack);
    if (::write(ack_fd, acks.data(), bytes) != static_cast<ssize_t>(bytes))
      ::_exit(6);
    if (compacting && !j.compact().ok())
      ::_exit(7);
  }
}

void take_acks(int fd, std::array<version_t, streams_n>& acked) {
  std::array<ack, streams_n> buf{};
  ssize_t n = 0;
  while ((n = ::read(fd, buf.data(), sizeof buf)) > 0) {
    REQUIRE(n % static_cast<ssize_t>(sizeof(ack)) == 0);
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(ack)); ++i) {
      REQUIRE(buf[i].stream < streams_n);
      acked[buf[i].stream] = std::max(acked[buf[i].stream], buf[i].version);
    }
  }
}

/// Runs one child for `run_ms`, collecting acks, then SIGKILLs it.
void run_and_kill(const std::string& dir, std::uint64_t seed, int run_ms,
                  std::array<version_t, streams_n>& acked, bool compacting) {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    run_child(dir, seed, fds[1], compacting);
  }
  ::close(fds[1]);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0)
      break;
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) > 0) {
      std::array<ack, streams_n> buf{};
      const ssize_t n = ::read(fds[0], buf.data(), sizeof buf);
      if (n <= 0)
        break; // the child died on its own; checked below
      for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof(ack)); ++i)
        acked[buf[i].stream] = std::max(acked[buf[i].stream], buf[i].version);
    }
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  take_acks(fds[0], acked); // what the child wrote before it died
  ::close(fds[0]);
  REQUIRE_MESSAGE(WIFSIGNALED(status), "child exited on its own, code ",
                  WEXITSTATUS(status));
}

/// Every acknowledged event is there, with the right payload and versions.
void verify(file_backend& j, const std::array<version_t, streams_n>& acked) {
  for (std::size_t s = 0; s < streams_n; ++s) {
    auto got = j.read(stream_name(s));
    REQUIRE(got.ok());
    REQUIRE(got->version >= acked[s]); // unacked extras may have landed
    version_t next = 1;
    if (got->snapshot) {
      CHECK(got->snapshot->payload ==
            snapshot_payload(s, got->snapshot->version));
      next = got->snapshot->version + 1;
    }
    for (const auto& e : got->events) {
      REQUIRE(e.version == next);
      REQUIRE(e.payload == event_payload(s, e.version));
      ++next;
    }
    CHECK(next == got->version + 1);
  }
}

std::uint64_t pick_seed() {
  if (const char* env = std::getenv("COURIER_SEED"))
    return std::strtoull(env, nullptr, 10);
  return std::random_device{}();
}

/// Kills a journaling child kills_n times; after each, every acknowledged
/// event must be there. With `compacting`, the journal must also stay
/// within about twice its live bytes.
void kill_rounds(bool compacting) {
  const std::uint64_t seed = pick_seed();
  std::printf("journal crash test seed: %llu (COURIER_SEED=%llu replays)\n",
              static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  testing::temp_dir dir;
  std::array<version_t, streams_n> acked{};
  std::uint64_t cut_total = 0, compactions = 0;
  for (int round = 0; round < kills_n; ++round) {
    const int run_ms =
        kill_after_ms_min +
        static_cast<int>(rng() % (kill_after_ms_max - kill_after_ms_min));
    run_and_kill(dir.path(), rng(), run_ms, acked, compacting);
    auto opened = file_backend::open(dir.path(), crash_options());
    REQUIRE_MESSAGE(opened.ok(), "round ", round, ": ",
                    (opened.ok() ? "" : opened.err().message));
    cut_total += (*opened)->stats().recovered_cut_bytes;
    verify(**opened, acked);
    if (compacting) {
      auto& j = **opened;
      for (int i = 0; i < 1000 && *j.compact(); ++i)
        ++compactions;
      const auto u = j.usage();
      CHECK(u.bytes <= 2 * u.live_bytes + 2 * crash_segment_bytes_max);
      verify(j, acked);
    }
    opened->reset();
    // Recovery left nothing to cut: the journal is clean.
    auto again = file_backend::open(dir.path(), crash_options());
    REQUIRE(again.ok());
    CHECK((*again)->stats().recovered_cut_bytes == 0);
  }
  version_t total = 0;
  for (auto v : acked)
    total += v;
  std::printf("journal crash test: %d kills, %llu acknowledged events, "
              "%llu torn bytes cut, %llu compactions after reopening\n",
              kills_n, static_cast<unsigned long long>(total),
              static_cast<unsigned long long>(cut_total),
              static_cast<unsigned long long>(compactions));
  CHECK(total > 0);
}

} // namespace

TEST_CASE("journal_keeps_every_acknowledged_event_across_sigkill") {
  kill_rounds(false);
}

TEST_CASE("journal_keeps_every_acknowledged_event_across_sigkill_while_compacting") {
  kill_rounds(true);
}
