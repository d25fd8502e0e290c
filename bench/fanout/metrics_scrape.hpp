#pragma once
/// \file
/// Reads a node's Prometheus text (`GET /metrics`) for benchmarks: one
/// blocking HTTP/1.1 request over loopback with a receive timeout, and a
/// lookup of one unlabelled sample by name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace courier::bench {

/// A response body larger than this is refused (a node's /metrics is a few KiB).
inline constexpr std::size_t metrics_body_max = 4u * 1024 * 1024;

/// The body of `GET /metrics` from 127.0.0.1:`http_port`; nullopt on any
/// failure (connect, timeout, non-200, oversized).
std::optional<std::string> scrape_metrics(std::uint16_t http_port,
                                          std::chrono::milliseconds timeout);

/// The value of the sample `name` (a line `name VALUE`, no labels) in
/// Prometheus text; nullopt if absent.
std::optional<double> metric_value(std::string_view text, std::string_view name);

} // namespace courier::bench
