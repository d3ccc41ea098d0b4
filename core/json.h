// core/json.h — JSON from files is untrusted input: bounded nesting, and short excerpts in errors.
//
// nlohmann::json parses, copies, prints and destroys values recursively, so a header nesting
// [[[[...]]]] a hundred thousand levels deep overflows the stack. Every JSON text seqnet reads from
// a file (safetensors headers, the metadata strings of checkpoints, metrics.jsonl) goes through
// check_json_nesting first, which scans the text once without recursion; and an offending value is
// quoted in a message through json_excerpt, never dumped whole.
#pragma once
#include <fmt/format.h>

#include <cstddef>
#include <string>

#include "core/error.h"

namespace seqnet {

constexpr int kMaxJsonNesting = 64;  // deeper than anything seqnet writes (3) by a wide margin

// Throws Error "<what>: JSON nests deeper than 64 levels" when arrays / objects nest deeper than
// kMaxJsonNesting (brackets inside strings do not count). Linear, iterative.
void check_json_nesting(const std::string& text, const std::string& what);

// v.dump() cut to `max_chars` (with "… (N characters)" appended when cut), for error messages.
template <class Json>
std::string json_excerpt(const Json& v, size_t max_chars = 80) {
  const std::string s = v.dump();
  if (s.size() <= max_chars) return s;
  return fmt::format("{}… ({} characters)", s.substr(0, max_chars), s.size());
}

// check_json_nesting, then Json::parse; a syntax error names `what`.
template <class Json>
Json parse_json(const std::string& text, const std::string& what) {
  check_json_nesting(text, what);
  try {
    return Json::parse(text);
  } catch (const std::exception& e) {
    fail(fmt::format("{}: invalid JSON: {}", what, std::string(e.what()).substr(0, 200)));
  }
}

}  // namespace seqnet
