// courier-ctl history: a rider's location history (raw points or minute
// means) from a node's GET /v1/riders/{id}/history (issue #13), one point
// per line for an operator, or the node's JSON with --json.
#include "tools/ctl/commands.hpp"

#include "core/clock.hpp"
#include "core/limits.hpp"
#include "nodes/auth/token.hpp"
#include "tools/ctl/node_http.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <istream>
#include <optional>
#include <ostream>

namespace courier::tools {
namespace {

using json = nlohmann::json;

/// The node waits up to 10 s for its history actor; this leaves it room.
constexpr std::chrono::seconds history_timeout{15};
/// A day of raw points as JSON is about 1.2 MB.
constexpr std::uint64_t history_body_bytes_max = 64 * 1024 * 1024;
/// The admin token minted from --secret lives this long.
constexpr std::int64_t minted_token_ttl_s = 60;

struct history_args {
  std::optional<std::string> rider, from, to, detail, node, token, secret, secret_file;
  bool json = false;
  bool help = false;
};

void usage(std::ostream& os) {
  os << "usage: courier-ctl history RIDER [--from MS] [--to MS] [--detail raw|minute]\n"
        "         [--node http://HOST:PORT] (--token T | --secret S | --secret-file P) [--json]\n"
        "  A rider's positions from the node's location history: raw points (one per\n"
        "  5 s, kept 24 h) or minute means (kept 7 days). --to defaults to now, --from to\n"
        "  an hour before --to (milliseconds since the epoch). Needs an admin token:\n"
        "  --token, or one signed here for 60 s with the cluster --secret/--secret-file.\n"
        "  Prints '# ...' header lines, then one point per line, tab-separated:\n"
        "    at_ms  time_utc  lat  lng  [count, minute only]\n"
        "  --json prints the node's JSON reply instead. A reply cut at the retention\n"
        "  window or the per-query bound says so on stderr (exit 0).\n"
        "  --node defaults to "
     << node_url_default << "\n";
}

/// Parses `--flag value`, `--flag=value` and the one positional RIDER; the
/// error text, or "".
std::string parse(const args_t& args, history_args& out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    if (flag == "-h" || flag == "--help") {
      out.help = true;
      continue;
    }
    if (flag == "--json") {
      out.json = true;
      continue;
    }
    if (flag.rfind("--", 0) != 0) {
      if (out.rider)
        return "unexpected argument '" + flag + "' (one RIDER only)";
      out.rider = flag;
      continue;
    }
    std::optional<std::string> value;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    std::optional<std::string>* slot = nullptr;
    if (flag == "--from")
      slot = &out.from;
    else if (flag == "--to")
      slot = &out.to;
    else if (flag == "--detail")
      slot = &out.detail;
    else if (flag == "--node")
      slot = &out.node;
    else if (flag == "--token")
      slot = &out.token;
    else if (flag == "--secret")
      slot = &out.secret;
    else if (flag == "--secret-file")
      slot = &out.secret_file;
    else
      return "unknown argument '" + flag + "'";
    if (auto why = take_flag_value(args, i, flag, std::move(value), *slot); !why.empty())
      return why;
  }
  return "";
}

bool is_ms(const std::string& text) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} && end == text.data() + text.size() && v >= 0;
}

/// The request's target, or the error text in `why`.
std::optional<std::string> target_of(const history_args& a, std::string& why) {
  if (!a.rider || a.rider->empty()) {
    why = "missing RIDER";
    return std::nullopt;
  }
  if (a.rider->size() > core::limits::id_chars_max ||
      a.rider->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                 "0123456789._~:-") != std::string::npos) {
    why = "RIDER must be 1.." + std::to_string(core::limits::id_chars_max) +
          " characters of A-Z a-z 0-9 . _ ~ : -";
    return std::nullopt;
  }
  std::string query;
  for (auto [name, value] : {std::pair{"from", &a.from}, std::pair{"to", &a.to}}) {
    if (!*value)
      continue;
    if (!is_ms(**value)) {
      why = std::string{"--"} + name + " must be milliseconds since the epoch, not '" +
            **value + "'";
      return std::nullopt;
    }
    query += std::string{query.empty() ? "?" : "&"} + name + "=" + **value;
  }
  if (a.detail) {
    if (*a.detail != "raw" && *a.detail != "minute") {
      why = "--detail must be raw or minute, not '" + *a.detail + "'";
      return std::nullopt;
    }
    query += std::string{query.empty() ? "?" : "&"} + "detail=" + *a.detail;
  }
  return "/v1/riders/" + *a.rider + "/history" + query;
}

/// --token as given, or an admin token signed with the secret.
std::optional<std::string> token_of(const history_args& a, std::string& why) {
  if (a.token && (a.secret || a.secret_file)) {
    why = "give either --token or --secret/--secret-file, not both";
    return std::nullopt;
  }
  if (a.token) {
    if (a.token->empty())
      why = "--token is empty";
    return a.token->empty() ? std::nullopt : a.token;
  }
  if (!a.secret && !a.secret_file) {
    why = "needs an admin token: --token T, --secret S or --secret-file P";
    return std::nullopt;
  }
  auto secret = read_secret(a.secret, a.secret_file, why);
  if (!secret)
    return std::nullopt;
  auto now_s = core::system_clock{}.now_ms() / 1000;
  return auth::sign_token({"admin", "courier-ctl", now_s + minted_token_ttl_s}, *secret);
}

std::string utc(std::int64_t at_ms) {
  std::time_t s = static_cast<std::time_t>(at_ms / 1000);
  std::tm tm{};
  if (gmtime_r(&s, &tm) == nullptr)
    return "?";
  char buf[32];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    return "?";
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(at_ms % 1000));
  return std::string{buf} + ms;
}

/// Prints the reply as lines; false if it is not the reply it should be.
bool print_points(const json& j, std::ostream& out, std::ostream& err) {
  if (!j.is_object() || !j.contains("points") || !j["points"].is_array())
    return false;
  const bool minute = j.value("detail", "") == "minute";
  const auto& points = j["points"];
  out << "# rider " << j.value("rider_id", "?") << " " << j.value("detail", "?") << " from "
      << j.value("from", std::int64_t{0}) << " to " << j.value("to", std::int64_t{0}) << ": "
      << points.size() << (minute ? " minutes" : " points") << "\n"
      << "# at_ms\ttime_utc\tlat\tlng" << (minute ? "\tcount" : "") << "\n";
  char line[160];
  for (const auto& p : points) {
    if (!p.is_object())
      return false;
    auto at = p.value("at_ms", std::int64_t{0});
    std::snprintf(line, sizeof line, "%lld\t%s\t%.7f\t%.7f", static_cast<long long>(at),
                  utc(at).c_str(), p.value("lat", 0.0), p.value("lng", 0.0));
    out << line;
    if (minute)
      out << '\t' << p.value("count", 0u);
    out << '\n';
  }
  if (j.value("truncated", false)) {
    err << "courier-ctl history: truncated: the range was clipped to the retention window or "
           "the reply holds the per-query maximum";
    if (!points.empty())
      err << "; for more, ask again with --from "
          << points.back().value("at_ms", std::int64_t{0}) + 1;
    err << "\n";
  }
  return true;
}

} // namespace

int run_history_command(const args_t& args, std::istream&, std::ostream& out,
                        std::ostream& err) {
  history_args a;
  std::string why = parse(args, a);
  if (why.empty() && a.help) {
    usage(out);
    return 0;
  }
  std::optional<std::string> target, token;
  node_address node;
  if (why.empty())
    target = target_of(a, why);
  if (target)
    token = token_of(a, why);
  if (token && !parse_node_address(a.node.value_or(node_url_default), node))
    why = "--node must be http://HOST:PORT, got '" + a.node.value_or("") + "'";
  if (!why.empty()) {
    err << "courier-ctl history: " << why << "\n";
    usage(err);
    return 2;
  }
  const std::string node_text = a.node.value_or(node_url_default);
  http_answer answer;
  std::string error;
  if (!http_get(node, *target, *token,
                std::chrono::duration_cast<std::chrono::milliseconds>(history_timeout),
                history_body_bytes_max, answer, error)) {
    err << "courier-ctl history: " << node_text << ": " << error << "\n";
    return 1;
  }
  auto j = json::parse(answer.body, nullptr, false);
  if (answer.status != 200) {
    auto message = j.is_object() ? j.value("message", answer.body) : answer.body;
    err << "courier-ctl history: " << node_text << ": HTTP " << answer.status << ": "
        << message << "\n";
    return 1;
  }
  if (a.json && !j.is_discarded()) {
    out << answer.body << "\n";
    return 0;
  }
  if (j.is_discarded() || !print_points(j, out, err)) {
    err << "courier-ctl history: " << node_text << ": not a history reply\n";
    return 1;
  }
  return 0;
}

} // namespace courier::tools
