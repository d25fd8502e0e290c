#include "tools/ctl/commands.hpp"

namespace courier::tools {

std::string take_flag_value(const args_t& args, std::size_t& i, const std::string& flag,
                            std::optional<std::string> inline_value,
                            std::optional<std::string>& slot) {
  if (!inline_value) {
    if (i + 1 >= args.size())
      return flag + " needs a value";
    inline_value = args[++i];
  }
  if (slot)
    return flag + " given twice";
  slot = std::move(inline_value);
  return "";
}

} // namespace courier::tools
