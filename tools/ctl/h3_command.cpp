// courier-ctl h3: H3 conversions for operators, one item per stdin line and
// one answer per stdout line. A bad line answers "error: ..." and the rest
// are still processed; the exit code is then 1.
#include "tools/ctl/commands.hpp"

#include "geo/h3.hpp"

#include <cstdio>
#include <functional>
#include <istream>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>

namespace courier::tools {

namespace {

using answer_t = core::result<std::string>;
using handler_t = std::function<answer_t(const std::string& line)>;

/// Longest accepted input line, in bytes (a cell pair is < 40).
constexpr std::size_t line_bytes_max = 4096;

int usage(std::ostream& os, int code) {
  os << "usage: courier-ctl h3 SUBCOMMAND [--res R | --k K]\n"
        "  latlng-to-cell            LAT LNG RES  -> cell\n"
        "  cell-to-latlng            cell         -> LAT LNG\n"
        "  cell-to-boundary          cell         -> LAT LNG;LAT LNG;...\n"
        "  cell-to-parent --res R    cell         -> parent\n"
        "  cell-to-children --res R  cell         -> child,child,...\n"
        "  grid-disk --k K           cell         -> cell,cell,...\n"
        "  grid-distance             A B          -> distance\n"
        "one item per stdin line; a bad line prints 'error: ...' (exit 1)\n";
  return code;
}

core::error bad(std::string message) {
  return core::make_error(core::errc::bad_request, std::move(message));
}

std::string format_point(geo::lat_lng p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g %.17g", p.lat_deg, p.lng_deg);
  return buf;
}

std::string join_cells(const std::vector<geo::cell>& cells) {
  std::string out;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i)
      out += ',';
    out += geo::cell_to_string(cells[i]);
  }
  return out;
}

// Reads exactly the given fields from a line; nothing may follow.
template <class... T>
bool read_fields(const std::string& line, T&... fields) {
  std::istringstream in(line);
  (in >> ... >> fields);
  std::string rest;
  return static_cast<bool>(in) && !(in >> rest);
}

core::result<geo::cell> read_cell(const std::string& line) {
  std::string text;
  if (!read_fields(line, text))
    return bad("expected one cell");
  return geo::string_to_cell(text);
}

// Wraps a cell -> answer function into a line handler.
template <class F>
handler_t on_cell(F f) {
  return [f](const std::string& line) -> answer_t {
    const auto c = read_cell(line);
    if (!c)
      return c.err();
    return f(*c);
  };
}

answer_t latlng_to_cell(const std::string& line) {
  double lat = 0.0;
  double lng = 0.0;
  int res = 0;
  if (!read_fields(line, lat, lng, res))
    return bad("expected LAT LNG RES");
  const auto c = geo::lat_lng_to_cell(lat, lng, res);
  if (!c)
    return c.err();
  return geo::cell_to_string(*c);
}

answer_t cell_to_boundary(geo::cell c) {
  const auto verts = geo::cell_to_boundary(c);
  if (!verts)
    return verts.err();
  std::string out;
  for (std::size_t i = 0; i < verts->size(); ++i) {
    if (i)
      out += ';';
    out += format_point((*verts)[i]);
  }
  return out;
}

answer_t grid_distance(const std::string& line) {
  std::string a;
  std::string b;
  if (!read_fields(line, a, b))
    return bad("expected two cells A B");
  const auto ca = geo::string_to_cell(a);
  const auto cb = geo::string_to_cell(b);
  if (!ca || !cb)
    return (!ca ? ca : cb).err();
  const auto d = geo::grid_distance(*ca, *cb);
  if (!d)
    return d.err();
  return std::to_string(*d);
}

struct options {
  std::optional<int> res;
  std::optional<int> k;
};

// Parses "--res R" / "--k K"; false (with a message) on anything else.
bool parse_flags(const args_t& args, options& opt, std::ostream& err) {
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& flag = args[i];
    if ((flag != "--res" && flag != "--k") || i + 1 >= args.size()) {
      err << "courier-ctl h3: unknown or incomplete flag '" << flag << "'\n";
      return false;
    }
    int value = 0;
    if (!read_fields(args[++i], value)) {
      err << "courier-ctl h3: " << flag << " needs an integer\n";
      return false;
    }
    (flag == "--res" ? opt.res : opt.k) = value;
  }
  return true;
}

// The handler for a subcommand, or an empty function if unknown or if its
// flags are missing / not allowed.
handler_t make_handler(const std::string& sub, const options& opt) {
  const bool none = !opt.res && !opt.k;
  if (sub == "latlng-to-cell" && none)
    return latlng_to_cell;
  if (sub == "cell-to-latlng" && none)
    return on_cell([](geo::cell c) -> answer_t {
      const auto p = geo::cell_to_lat_lng(c);
      return p ? answer_t(format_point(*p)) : answer_t(p.err());
    });
  if (sub == "cell-to-boundary" && none)
    return on_cell(cell_to_boundary);
  if (sub == "grid-distance" && none)
    return grid_distance;
  if (sub == "cell-to-parent" && opt.res && !opt.k)
    return on_cell([r = *opt.res](geo::cell c) -> answer_t {
      const auto p = geo::cell_to_parent(c, r);
      return p ? answer_t(geo::cell_to_string(*p)) : answer_t(p.err());
    });
  if (sub == "cell-to-children" && opt.res && !opt.k)
    return on_cell([r = *opt.res](geo::cell c) -> answer_t {
      const auto kids = geo::cell_to_children(c, r);
      return kids ? answer_t(join_cells(*kids)) : answer_t(kids.err());
    });
  if (sub == "grid-disk" && opt.k && !opt.res)
    return on_cell([k = *opt.k](geo::cell c) -> answer_t {
      const auto disk = geo::grid_disk(c, k);
      return disk ? answer_t(join_cells(*disk)) : answer_t(disk.err());
    });
  return {};
}

} // namespace

int run_h3_command(const args_t& args, std::istream& in, std::ostream& out,
                   std::ostream& err) {
  if (args.empty())
    return usage(err, 2);
  if (args[0] == "-h" || args[0] == "--help")
    return usage(out, 0);
  options opt;
  if (!parse_flags(args, opt, err))
    return usage(err, 2);
  const handler_t handle = make_handler(args[0], opt);
  if (!handle) {
    err << "courier-ctl h3: unknown subcommand '" << args[0] << "' or wrong flags for it\n";
    return usage(err, 2);
  }
  bool any_error = false;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    const answer_t a = line.size() > line_bytes_max ? answer_t(bad("line too long"))
                                                     : handle(line);
    if (a) {
      out << *a << '\n';
    } else {
      any_error = true;
      out << "error: " << a.err().message << '\n';
    }
  }
  return any_error ? 1 : 0;
}

} // namespace courier::tools
