// The standalone driver of the default (GCC) build: runs a fuzz target's
// LLVMFuzzerTestOneInput over every file of the directories (or files)
// given, so the default ctest run replays the seed corpus and every
// regression input without libFuzzer. A crash aborts the process (the
// target's own checks and the always-on asserts), which fails the test.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr)
    LLVMFuzzerInitialize(&argc, &argv);
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    fs::path p{argv[i]};
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.')
          files.push_back(e.path());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  std::sort(files.begin(), files.end()); // a stable order: a failure names the same file
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", f.c_str(), bytes.size());
    // A copy of exactly `size` bytes on the heap, as libFuzzer hands it
    // over: an out-of-bounds read runs off the allocation.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    static std::uint8_t none = 0; // libFuzzer never passes a null pointer
    LLVMFuzzerTestOneInput(input.empty() ? &none : input.data(), input.size());
  }
  std::printf("replay: %zu inputs, 0 failures\n", files.size());
  return 0;
}
