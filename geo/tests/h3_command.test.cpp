// courier-ctl h3, driven through run_h3_command with string streams (the
// binary also needs the token command, which lives in another folder).
#include "tools/ctl/commands.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>

using courier::tools::args_t;
using courier::tools::run_h3_command;

namespace {
struct run_result {
  int code;
  std::string out;
  std::string err;
};

run_result run(const args_t& args, const std::string& input) {
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  const int code = run_h3_command(args, in, out, err);
  return {code, out.str(), err.str()};
}
} // namespace

TEST_CASE("latlng_to_cell_answers_one_line_per_input_and_flags_bad_lines") {
  const auto r = run({"latlng-to-cell"}, "37.4979 127.0276 9\nnot a point\n37.4979 127.0276 16\n0 0 0\n");
  CHECK(r.code == 1);
  std::istringstream lines(r.out);
  std::string l1, l2, l3, l4;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  std::getline(lines, l4);
  CHECK(l1 == "8930e1ca2bbffff");
  CHECK(l2.rfind("error:", 0) == 0);
  CHECK(l3.rfind("error:", 0) == 0);
  CHECK(l4 == "8075fffffffffff");
}

TEST_CASE("cell_to_latlng_and_boundary_print_17_significant_digits") {
  const auto c = run({"cell-to-latlng"}, "8930e1ca2bbffff\n");
  CHECK(c.code == 0);
  CHECK(c.out.rfind("37.49", 0) == 0);
  CHECK(c.out.find(' ') != std::string::npos);
  const auto b = run({"cell-to-boundary"}, "8930e1ca2bbffff\n");
  CHECK(std::count(b.out.begin(), b.out.end(), ';') == 5);
}

TEST_CASE("parent_children_disk_and_distance_subcommands") {
  CHECK(run({"cell-to-parent", "--res", "7"}, "8930e1ca2bbffff\n").out == "8730e1ca2ffffff\n");
  const auto kids = run({"cell-to-children", "--res", "8"}, "8730e1ca2ffffff\n").out;
  CHECK(std::count(kids.begin(), kids.end(), ',') == 6);
  const auto disk = run({"grid-disk", "--k", "1"}, "8930e1ca2bbffff\n").out;
  CHECK(std::count(disk.begin(), disk.end(), ',') == 6);
  CHECK(run({"grid-distance"}, "8930e1ca2bbffff 8930e1ca2bbffff\n").out == "0\n");
  const auto mismatch = run({"grid-distance"}, "8930e1ca2bbffff 8830e1ca2bfffff\n");
  CHECK(mismatch.out.rfind("error: ", 0) == 0);
  CHECK(mismatch.code == 1);
}

TEST_CASE("unknown_subcommand_or_flag_exits_2") {
  CHECK(run({"frobnicate"}, "").code == 2);
  CHECK(run({"grid-disk", "--radius", "1"}, "").code == 2);
  CHECK(run({"grid-disk"}, "").code == 2); // --k is required
  CHECK(run({"cell-to-parent", "--res", "x"}, "").code == 2);
  CHECK_FALSE(run({"frobnicate"}, "").err.empty());
  CHECK(run({}, "").code == 2);
}
