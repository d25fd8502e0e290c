#include "storage/posix_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace courier::storage {

core::error io_error(const std::string& what, int err) {
  return core::make_error(core::errc::internal,
                          what + ": " + std::strerror(err));
}

core::result<core::unit_t> pread_all(int fd, char* out, std::size_t bytes,
                                      std::uint64_t offset,
                                      const std::string& path) {
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, out, bytes, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("pread of " + path + " at " + std::to_string(offset),
                      errno);
    if (n == 0)
      return core::make_error(core::errc::internal,
                              "unexpected end of " + path + " at offset " +
                                  std::to_string(offset));
    out += n;
    bytes -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return core::unit;
}

core::result<core::unit_t> write_all(int fd, const std::string& data,
                                      const write_fn& write,
                                      std::uint64_t& written,
                                      const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write ? write(fd, data.data() + done, data.size() - done)
                            : ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("write to " + path, errno);
    if (n == 0)
      return core::make_error(core::errc::internal,
                              "write to " + path + " wrote nothing");
    done += static_cast<std::size_t>(n);
    written += static_cast<std::uint64_t>(n);
  }
  return core::unit;
}

} // namespace courier::storage
