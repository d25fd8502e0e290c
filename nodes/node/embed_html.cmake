# Writes the HTML file IN as a C++ string into OUT (cmake -P script), split
# into chunks because compilers cap the length of one string literal.
file(READ ${IN} html)
string(LENGTH "${html}" len)
set(chunks "")
set(pos 0)
while(pos LESS len)
  string(SUBSTRING "${html}" ${pos} 8000 piece)
  string(APPEND chunks "  R\"courier_html(${piece})courier_html\"\n")
  math(EXPR pos "${pos} + 8000")
endwhile()
file(WRITE ${OUT} "// Generated from nodes/node/web/index.html; do not edit.\n"
  "#include \"nodes/node/rest_handler.hpp\"\n"
  "namespace courier::node {\n"
  "const std::string& live_map_html() {\n"
  "  static const std::string page =\n${chunks}  ;\n"
  "  return page;\n}\n}\n")
