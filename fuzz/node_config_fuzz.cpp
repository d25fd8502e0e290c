// The node's config file (courier-node --config FILE, JSON): the input is
// the file, read by the real parse_node_config (flags: --demo, so a config
// without a secret still gets through to the final checks).
#include "fuzz/fuzz_check.hpp"
#include "nodes/node/config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

using namespace courier;
namespace fs = std::filesystem;

namespace {
/// One config file per process (tmpfs when there is one), removed at exit.
struct scratch_file {
  std::string path;
  scratch_file() {
    std::string base = fs::exists("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    path = base + "/courier-fuzz-config-XXXXXX";
    int fd = ::mkstemp(path.data());
    FUZZ_CHECK(fd >= 0);
    ::close(fd);
  }
  ~scratch_file() { ::unlink(path.c_str()); }
};

const std::string& config_path() {
  static const scratch_file file;
  return file.path;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& path = config_path();
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(::write(fd, data, size) == static_cast<ssize_t>(size));
  ::close(fd);
  auto c = node::parse_node_config({"--demo", "--config", path});
  if (c) {
    FUZZ_CHECK(!c->secret.empty());
    FUZZ_CHECK(c->domain.region_merge_riders < c->domain.region_split_riders);
  }
  return 0;
}
