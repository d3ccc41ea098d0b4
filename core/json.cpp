// core/json.cpp — see core/json.h.
#include "core/json.h"

namespace seqnet {

void check_json_nesting(const std::string& text, const std::string& what) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonNesting)
        fail(fmt::format("{}: JSON nests deeper than {} levels (refused: such a file is not one seqnet wrote)", what,
                         kMaxJsonNesting));
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
}

}  // namespace seqnet
