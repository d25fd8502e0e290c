// courier-ctl token: prints a signed client token (nodes/auth/).
#include "tools/ctl/commands.hpp"

#include "core/clock.hpp"
#include "core/limits.hpp"
#include "core/utf8.hpp"
#include "nodes/auth/token.hpp"

#include <charconv>
#include <fstream>
#include <istream>
#include <optional>
#include <ostream>
#include <sstream>

namespace courier::tools {
namespace {

constexpr std::int64_t ttl_s_default = 3600;

struct token_args {
  std::optional<std::string> role, id, secret, secret_file, ttl;
  bool help = false;
};

void token_usage(std::ostream& os) {
  os << "usage: courier-ctl token --role ROLE --id ID (--secret S | --secret-file PATH)"
        " [--ttl SECONDS]\n"
        "  ROLE is rider, customer, store or admin; --ttl defaults to "
     << ttl_s_default
     << " s.\n"
        "  Prints the token (HMAC-SHA256 under the cluster secret) and a newline.\n";
}

/// Parses `--flag value` and `--flag=value`; the error text, or "".
std::string parse(const args_t& args, token_args& out) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::optional<std::string> value;
    if (flag == "-h" || flag == "--help") {
      out.help = true;
      continue;
    }
    if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    std::optional<std::string>* slot = nullptr;
    if (flag == "--role")
      slot = &out.role;
    else if (flag == "--id")
      slot = &out.id;
    else if (flag == "--secret")
      slot = &out.secret;
    else if (flag == "--secret-file")
      slot = &out.secret_file;
    else if (flag == "--ttl")
      slot = &out.ttl;
    else
      return "unknown argument '" + flag + "'";
    if (auto why = take_flag_value(args, i, flag, std::move(value), *slot); !why.empty())
      return why;
  }
  return "";
}

/// Validated claims, or the error text in `why`.
std::optional<auth::token_claims> make_claims(const token_args& a, core::time_ms now,
                                              std::string& why) {
  if (!a.role || !auth::is_known_role(*a.role)) {
    why = a.role ? "unknown role '" + *a.role + "' (rider, customer, store, admin)"
                 : "missing --role";
    return std::nullopt;
  }
  if (a.id && !core::valid_utf8(*a.id)) {
    why = "--id must be UTF-8 text";
    return std::nullopt;
  }
  if (!a.id || a.id->empty() || a.id->size() > core::limits::id_chars_max) {
    why = a.id ? "--id must be 1.." + std::to_string(core::limits::id_chars_max) +
                     " characters"
               : "missing --id";
    return std::nullopt;
  }
  std::int64_t ttl_s = ttl_s_default;
  if (a.ttl) {
    const auto& t = *a.ttl;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), ttl_s);
    if (ec != std::errc{} || end != t.data() + t.size() || ttl_s <= 0) {
      why = "--ttl must be a positive number of seconds, not '" + t + "'";
      return std::nullopt;
    }
  }
  auto now_s = now / 1000;
  if (ttl_s > auth::exp_s_max - now_s) {
    why = "--ttl is too large";
    return std::nullopt;
  }
  return auth::token_claims{*a.role, *a.id, now_s + ttl_s};
}

} // namespace

std::optional<std::string> read_secret(const std::optional<std::string>& secret,
                                       const std::optional<std::string>& secret_file,
                                       std::string& why) {
  if (secret && secret_file) {
    why = "give either --secret or --secret-file, not both";
    return std::nullopt;
  }
  std::string text;
  if (secret) {
    text = *secret;
  } else if (secret_file) {
    auto read = auth::read_secret_file(*secret_file); // as the node reads it
    if (!read) {
      why = "--secret-file: " + read.err().message;
      return std::nullopt;
    }
    text = std::move(*read);
  } else {
    why = "missing --secret or --secret-file";
    return std::nullopt;
  }
  if (text.empty()) {
    why = "the secret is empty";
    return std::nullopt;
  }
  return text;
}

int run_token_command(const args_t& args, std::istream&, std::ostream& out,
                      std::ostream& err) {
  token_args a;
  if (auto why = parse(args, a); !why.empty()) {
    err << "courier-ctl token: " << why << "\n";
    token_usage(err);
    return 2;
  }
  if (a.help) {
    token_usage(out);
    return 0;
  }
  std::string why;
  auto claims = make_claims(a, core::system_clock{}.now_ms(), why);
  auto secret = claims ? read_secret(a.secret, a.secret_file, why) : std::nullopt;
  if (!claims || !secret) {
    err << "courier-ctl token: " << why << "\n";
    token_usage(err);
    return 2;
  }
  out << auth::sign_token(*claims, *secret) << "\n";
  return 0;
}

} // namespace courier::tools
