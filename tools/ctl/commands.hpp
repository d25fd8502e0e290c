#pragma once
/// \file
/// courier-ctl subcommands. Each takes the arguments after its own name and
/// the process's standard streams, and returns the process exit code.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace courier::tools {

using args_t = std::vector<std::string>;

/// `courier-ctl h3 SUBCOMMAND [--res R|--k K]`: H3 conversions, one item per
/// stdin line, one answer per stdout line.
int run_h3_command(const args_t& args, std::istream& in, std::ostream& out,
                   std::ostream& err);

/// `courier-ctl token --role R --id ID --secret S [--ttl SECONDS]`.
int run_token_command(const args_t& args, std::istream& in, std::ostream& out,
                      std::ostream& err);

/// Stores the value of the flag at args[i] in `slot`: `inline_value` (from
/// "--flag=VALUE") or the next argument (then `i` moves past it). "" or the
/// error: the value is missing, or the flag was given twice.
std::string take_flag_value(const args_t& args, std::size_t& i, const std::string& flag,
                            std::optional<std::string> inline_value,
                            std::optional<std::string>& slot);

/// The cluster secret from `--secret` or `--secret-file` (trailing
/// whitespace dropped); nullopt with the reason in `why` otherwise.
std::optional<std::string> read_secret(const std::optional<std::string>& secret,
                                       const std::optional<std::string>& secret_file,
                                       std::string& why);

/// `courier-ctl cluster status [--cluster URL] [--json]` and
/// `courier-ctl cluster owner KIND KEY [--cluster URL]`: the membership view
/// in Redis and the owner of an entity under placement.
int run_cluster_command(const args_t& args, std::istream& in, std::ostream& out,
                        std::ostream& err);

/// `courier-ctl drain NODE [--cluster URL] [--wait-s S]`: marks NODE draining
/// and waits until it has left the view.
int run_drain_command(const args_t& args, std::istream& in, std::ostream& out,
                      std::ostream& err);

/// `courier-ctl metrics [--node http://HOST:PORT] [--match PREFIX]...`: the
/// node's /metrics, or only the families whose names start with a PREFIX.
int run_metrics_command(const args_t& args, std::istream& in, std::ostream& out,
                        std::ostream& err);

/// `courier-ctl history RIDER [--from MS] [--to MS] [--detail raw|minute]
/// [--node URL] [--token T | --secret S | --secret-file P] [--json]`: a
/// rider's location history from a node's REST call.
int run_history_command(const args_t& args, std::istream& in, std::ostream& out,
                        std::ostream& err);

} // namespace courier::tools
