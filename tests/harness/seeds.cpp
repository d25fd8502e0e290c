#include "tests/harness/seeds.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>

#include <unistd.h>

namespace courier::harness {
namespace {

std::atomic<std::uint64_t> failed_asserts{0};
std::string current_test; ///< set by the listener; property loops run on the main thread

/// Counts failed assertions; doctest calls log_assert only for failures
/// unless --success is given, so m_failed is checked anyway.
struct failure_counter : doctest::IReporter {
  explicit failure_counter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData& tc) override { current_test = tc.m_name; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData& ad) override {
    if (ad.m_failed)
      failed_asserts += 1;
  }
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

DOCTEST_REGISTER_LISTENER("courier_failure_counter", 1, failure_counter);

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::uint64_t random_seed() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

std::string this_binary() {
  char buf[4096];
  auto n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{"<test binary>"};
}

void report_failure(const std::string& label, std::uint64_t seed, const std::string& why) {
  // '*' stands for characters a shell or doctest's filter would misread.
  std::string filter = current_test;
  for (auto& c : filter)
    if (c == ',' || c == '\'' || c == '\\')
      c = '*';
  std::printf("SEED FAILED: %s seed=%llu: %s\n  replay: COURIER_SEED=%llu %s '-tc=%s'\n",
              label.c_str(), static_cast<unsigned long long>(seed), why.c_str(),
              static_cast<unsigned long long>(seed), this_binary().c_str(), filter.c_str());
  std::fflush(stdout);
}

} // namespace

std::uint64_t failed_assertions() { return failed_asserts.load(); }

std::uint64_t fixed_base(const std::string& label) {
  // FNV-1a: stable across compilers and runs (std::hash is not).
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : label) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

seed_report for_each_seed(const std::string& label, const std::vector<std::uint64_t>& regressions,
                          std::uint64_t default_count,
                          const std::function<void(std::uint64_t)>& one) {
  std::vector<std::uint64_t> seeds;
  seed_report rep;
  if (const char* s = env("COURIER_SEED")) {
    seeds.push_back(std::strtoull(s, nullptr, 10));
    rep.base = seeds.front();
  } else {
    seeds = regressions;
    const char* b = env("COURIER_SEED_BASE");
    rep.base = !b ? fixed_base(label)
                  : std::string{b} == "random" ? random_seed() : std::strtoull(b, nullptr, 10);
    auto n = default_count;
    if (const char* c = env("COURIER_SEEDS"))
      n = std::strtoull(c, nullptr, 10);
    for (std::uint64_t k = 0; k < n; ++k)
      seeds.push_back(rep.base + k);
  }
  std::printf("harness: %s: %zu seeds (%zu regression), base %llu\n", label.c_str(), seeds.size(),
              env("COURIER_SEED") ? std::size_t{0} : regressions.size(),
              static_cast<unsigned long long>(rep.base));
  std::fflush(stdout);
  for (auto seed : seeds) {
    auto before = failed_assertions();
    std::string why;
    try {
      one(seed);
    } catch (const std::exception& e) {
      why = std::string{"threw "} + e.what();
    } catch (...) {
      why = "threw a non-standard exception";
    }
    rep.run += 1;
    if (why.empty() && failed_assertions() == before)
      continue;
    rep.failed += 1;
    report_failure(label, seed, why.empty() ? "a check failed" : why);
    // An exception ends the seed before its checks: make it a failure too.
    CHECK_MESSAGE(why.empty(), label << " seed " << seed << " " << why
                                     << " (replay: COURIER_SEED=" << seed << ")");
    if (rep.failed >= failing_seeds_max) {
      std::printf("harness: %s: stopping after %llu failed seeds\n", label.c_str(),
                  static_cast<unsigned long long>(rep.failed));
      break;
    }
  }
  return rep;
}

} // namespace courier::harness
