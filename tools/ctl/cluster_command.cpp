// courier-ctl cluster / drain: the operators' view of the Redis membership
// table (storage/redis_membership.hpp) and placement (cluster/placement.hpp,
// the same pure function every router uses). No CAF here.
#include "tools/ctl/commands.hpp"

#include "cluster/placement.hpp"
#include "core/limits.hpp"
#include "nodes/auth/token.hpp"
#include "storage/redis_membership.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <ostream>
#include <sstream>
#include <thread>

namespace courier::tools {
namespace {

using json = nlohmann::json;

constexpr const char* cluster_url_default = "redis://127.0.0.1:6379";
constexpr int drain_wait_s_default = 60;
constexpr int drain_wait_s_max = 3600;
constexpr std::chrono::milliseconds drain_poll{200};
constexpr std::chrono::milliseconds redis_timeout{2000};

struct cluster_args {
  std::vector<std::string> positional;
  std::string cluster = cluster_url_default;
  std::optional<std::string> wait_s;
  std::optional<std::string> redis_user;
  std::optional<std::string> redis_password_file;
  bool json = false;
  bool help = false;
};

void cluster_usage(std::ostream& os) {
  os << "usage: courier-ctl cluster status [--cluster URL] [--json]\n"
        "       courier-ctl cluster owner KIND KEY [--cluster URL]\n"
        "       courier-ctl drain NODE [--cluster URL] [--wait-s S]\n"
        "  status  the membership view: version, then one line per member\n"
        "          (--json: one object {view, members:[...]})\n"
        "  owner   the id of the member that owns entity KIND:KEY\n"
        "  drain   mark NODE draining and wait (default "
     << drain_wait_s_default
     << " s) until it has handed\n"
        "          its entities off and left the view; prints 'drained NODE'\n"
        "  --cluster URL: redis://HOST:PORT or redis-sentinel://H1:P1,H2:P2,.../NAME\n"
        "          (the master NAME those sentinels monitor); default "
     << cluster_url_default
     << "\n"
        "  --redis-password-file PATH, --redis-user U: the Redis password (first line\n"
        "          of PATH) and its ACL user, as the nodes are given them\n";
}

/// Parses flags (`--flag value` or `--flag=value`) and positional words;
/// the error text, or "".
std::string parse(const args_t& args, cluster_args& out) {
  bool cluster_given = false;
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
      out.positional.push_back(flag);
      continue;
    }
    std::optional<std::string> value;
    if (auto eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
    }
    std::optional<std::string>* once = flag == "--wait-s"                ? &out.wait_s
                                       : flag == "--redis-user"          ? &out.redis_user
                                       : flag == "--redis-password-file" ? &out.redis_password_file
                                                                          : nullptr;
    if (flag != "--cluster" && once == nullptr)
      return "unknown argument '" + flag + "'";
    if (!value) {
      if (i + 1 >= args.size())
        return flag + " needs a value";
      value = args[++i];
    }
    if (flag == "--cluster") {
      if (cluster_given)
        return "--cluster given twice";
      cluster_given = true;
      out.cluster = *value;
    } else {
      if (*once)
        return flag + " given twice";
      *once = *value;
    }
  }
  if (out.redis_user && !out.redis_password_file)
    return "--redis-user needs --redis-password-file";
  return "";
}

/// Connects to the membership table; prints the error otherwise.
std::unique_ptr<storage::redis_membership> open_table(const cluster_args& a,
                                                      const std::string& who,
                                                      std::ostream& err) {
  auto url = storage::parse_redis_url(a.cluster);
  if (!url) {
    err << who << ": " << url.err().message << "\n";
    return nullptr;
  }
  if (a.redis_password_file) {
    auto password = auth::read_secret_file(*a.redis_password_file);
    if (!password) {
      err << who << ": --redis-password-file: " << password.err().message << "\n";
      return nullptr;
    }
    url->password = std::move(*password);
    url->user = a.redis_user.value_or("");
  }
  auto table = storage::redis_membership::connect(*url, redis_timeout);
  if (!table) {
    err << who << ": error: " << table.err().message << "\n";
    return nullptr;
  }
  return std::move(*table);
}

/// Connects and reads the view; prints the error otherwise.
std::optional<storage::membership_view> read_view(const cluster_args& a,
                                                  const std::string& who, std::ostream& err) {
  auto table = open_table(a, who, err);
  if (!table)
    return std::nullopt;
  auto v = table->read_view();
  if (!v) {
    err << who << ": error: " << v.err().message << "\n";
    return std::nullopt;
  }
  return std::move(*v);
}

/// A member's `stats` ({"order":3,...}) as a JSON object; an empty object if
/// it is missing or not an object.
json entities_of(const storage::member_record& m) {
  auto parsed = json::parse(m.stats, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return json::object();
  return parsed;
}

/// "order=3 rider=2", or "-" when it runs nothing.
std::string entities_text(const json& entities) {
  std::string out;
  for (auto it = entities.begin(); it != entities.end(); ++it) {
    if (!out.empty())
      out += ' ';
    out += it.key() + "=" + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return out.empty() ? "-" : out;
}

json to_json(const storage::membership_view& v) {
  json members = json::array();
  for (const auto& m : v.members)
    members.push_back({{"id", m.id},
                       {"epoch", m.epoch},
                       {"host", m.host},
                       {"cluster_port", m.cluster_port},
                       {"http_port", m.http_port},
                       {"tcp_port", m.tcp_port},
                       {"lease_left_ms", m.lease_left_ms},
                       {"draining", m.draining},
                       {"entities", entities_of(m)}});
  return {{"view", v.version}, {"members", members}};
}

/// The view as an aligned table.
void print_table(const storage::membership_view& v, std::ostream& out) {
  std::vector<std::vector<std::string>> rows{
      {"ID", "EPOCH", "CLUSTER", "HTTP", "TCP", "LEASE_MS", "DRAINING", "ENTITIES"}};
  for (const auto& m : v.members)
    rows.push_back({m.id, std::to_string(m.epoch),
                    m.host + ":" + std::to_string(m.cluster_port), std::to_string(m.http_port),
                    std::to_string(m.tcp_port), std::to_string(m.lease_left_ms),
                    m.draining ? "yes" : "no", entities_text(entities_of(m))});
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c)
      width[c] = std::max(width[c], row[c].size());
  out << "view " << v.version << " (" << v.members.size() << " members)\n";
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c)
      line += c + 1 < row.size() ? row[c] + std::string(width[c] - row[c].size() + 2, ' ')
                                 : row[c];
    out << line << "\n";
  }
}

int run_status(const cluster_args& a, std::ostream& out, std::ostream& err) {
  const std::string who = "courier-ctl cluster status";
  if (a.positional.size() != 1 || a.wait_s) {
    err << who << ": takes no arguments besides --cluster and --json\n";
    cluster_usage(err);
    return 2;
  }
  auto v = read_view(a, who, err);
  if (!v)
    return 1;
  if (a.json)
    out << to_json(*v).dump() << "\n";
  else
    print_table(*v, out);
  return 0;
}

int run_owner(const cluster_args& a, std::ostream& out, std::ostream& err) {
  const std::string who = "courier-ctl cluster owner";
  if (a.positional.size() != 3 || a.json || a.wait_s) {
    err << who << ": needs KIND KEY (and optionally --cluster)\n";
    cluster_usage(err);
    return 2;
  }
  const cluster::entity_ref ref{a.positional[1], a.positional[2]};
  if (ref.kind.empty() || ref.key.empty() || ref.key.size() > core::limits::id_chars_max) {
    err << who << ": KIND and KEY must be non-empty (KEY at most "
        << core::limits::id_chars_max << " characters)\n";
    return 2;
  }
  auto v = read_view(a, who, err);
  if (!v)
    return 1;
  // The routers' rule (cluster_view.cpp placement_ids): draining members
  // are skipped.
  std::vector<std::string> ids;
  for (const auto& m : v->members)
    if (!m.draining)
      ids.push_back(m.id);
  const int owner = cluster::place(ids, ref);
  if (owner < 0) {
    err << who << ": error: no live member in view " << v->version << " can own " << ref
        << "\n";
    return 1;
  }
  out << ids[static_cast<std::size_t>(owner)] << "\n";
  return 0;
}

/// The member `id` in `v`, if present.
const storage::member_record* find(const storage::membership_view& v, const std::string& id) {
  for (const auto& m : v.members)
    if (m.id == id)
      return &m;
  return nullptr;
}

/// --wait-s as seconds, or nullopt (after printing why).
std::optional<int> wait_seconds(const cluster_args& a, const std::string& who, std::ostream& err) {
  if (!a.wait_s)
    return drain_wait_s_default;
  int s = 0;
  const auto& t = *a.wait_s;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), s);
  if (t.empty() || ec != std::errc{} || end != t.data() + t.size() || s < 0 ||
      s > drain_wait_s_max) {
    err << who << ": --wait-s must be 0.." << drain_wait_s_max << " seconds, not '" << t
        << "'\n";
    return std::nullopt;
  }
  return s;
}

/// Polls the view until `node`'s draining incarnation has left; prints
/// "drained NODE" (0) or why not by the deadline (1).
int wait_until_left(storage::redis_membership& table, const std::string& node,
                    std::chrono::seconds wait, std::ostream& out, std::ostream& err) {
  const std::string who = "courier-ctl drain";
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::optional<std::uint64_t> epoch; // the draining incarnation
  std::string last;
  for (;;) {
    auto v = table.read_view();
    if (v) {
      const auto* m = find(*v, node);
      if (m && !epoch)
        epoch = m->epoch;
      // Gone, or replaced by a new incarnation (a supervisor restarted it).
      if (!m || (epoch && m->epoch != *epoch)) {
        out << "drained " << node << "\n";
        return 0;
      }
      last = "still in view " + std::to_string(v->version) + ", marked draining";
    } else {
      last = v.err().message;
    }
    if (std::chrono::steady_clock::now() + drain_poll > deadline)
      break;
    std::this_thread::sleep_for(drain_poll);
  }
  err << who << ": error: " << node << " did not leave within " << wait.count() << " s ("
      << last << ")\n";
  return 1;
}

} // namespace

int run_cluster_command(const args_t& args, std::istream&, std::ostream& out,
                        std::ostream& err) {
  cluster_args a;
  if (auto why = parse(args, a); !why.empty()) {
    err << "courier-ctl cluster: " << why << "\n";
    cluster_usage(err);
    return 2;
  }
  if (a.help) {
    cluster_usage(out);
    return 0;
  }
  if (!a.positional.empty() && a.positional[0] == "status")
    return run_status(a, out, err);
  if (!a.positional.empty() && a.positional[0] == "owner")
    return run_owner(a, out, err);
  err << "courier-ctl cluster: expected 'status' or 'owner'\n";
  cluster_usage(err);
  return 2;
}

int run_drain_command(const args_t& args, std::istream&, std::ostream& out, std::ostream& err) {
  const std::string who = "courier-ctl drain";
  cluster_args a;
  if (auto why = parse(args, a); !why.empty() || a.json) {
    err << who << ": " << (why.empty() ? "--json is not an option of drain" : why) << "\n";
    cluster_usage(err);
    return 2;
  }
  if (a.help) {
    cluster_usage(out);
    return 0;
  }
  auto wait_s = wait_seconds(a, who, err);
  if (a.positional.size() != 1 || !wait_s) {
    if (a.positional.size() != 1)
      err << who << ": needs exactly one NODE\n";
    cluster_usage(err);
    return 2;
  }
  const std::string node = a.positional[0];
  auto table = open_table(a, who, err);
  if (!table)
    return 1;
  auto marked = table->set_draining(node);
  if (!marked) {
    err << who << ": error: " << marked.err().message << "\n";
    return 1;
  }
  return wait_until_left(*table, node, std::chrono::seconds{*wait_s}, out, err);
}

} // namespace courier::tools
