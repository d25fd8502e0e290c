#pragma once
/// \file
/// Checked POSIX helpers for the file backend: every failure becomes a
/// core::error naming the file and carrying errno's text.

#include "core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <sys/types.h>

namespace courier::storage {

/// errc::internal with "<what>: <strerror(err)>".
core::error io_error(const std::string& what, int err);

/// Reads exactly `bytes` at `offset`, retrying EINTR and short reads.
core::result<core::unit_t> pread_all(int fd, char* out, std::size_t bytes,
                                      std::uint64_t offset,
                                      const std::string& path);

/// Signature of write(2), so tests can inject failures.
using write_fn = std::function<ssize_t(int, const void*, std::size_t)>;

/// Writes all of `data` with `write` (write(2) when empty), retrying EINTR
/// and short writes. `written` counts the bytes that did reach the file,
/// also on failure, so the caller knows what to truncate.
core::result<core::unit_t> write_all(int fd, const std::string& data,
                                      const write_fn& write,
                                      std::uint64_t& written,
                                      const std::string& path);

} // namespace courier::storage
