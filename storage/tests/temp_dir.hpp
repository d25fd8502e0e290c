#pragma once
/// \file
/// A fresh directory under /tmp for one test, removed with its contents.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace courier::storage::testing {

/// mkdtemp("/tmp/courier-journal-XXXXXX"), removed on destruction.
class temp_dir {
public:
  temp_dir() {
    char pattern[] = "/tmp/courier-journal-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const noexcept { return path_; }
  /// Path of `name` inside the directory.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

} // namespace courier::storage::testing
