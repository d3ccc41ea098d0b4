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
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

#include "core/error.h"
#include "core/numbers.h"  // text_excerpt

namespace seqnet {

constexpr int kMaxJsonNesting = 64;  // deeper than anything seqnet writes (3) by a wide margin

// Throws Error "<what>: JSON nests deeper than 64 levels" when arrays / objects nest deeper than
// kMaxJsonNesting (brackets inside strings do not count). Linear, iterative.
void check_json_nesting(const std::string& text, const std::string& what);

// v.dump() cut to `max_chars` (with "… (N characters)" appended when cut), for error messages.
template <class Json>
std::string json_excerpt(const Json& v, size_t max_chars = 80) {
  return text_excerpt(v.dump(), max_chars);
}

// j[key] as T, checked, for values read from a file: an integer field must hold a JSON integer in
// T's range (nlohmann's get<int64_t>() would truncate 1e300, undefined behaviour, and get<uint64_t>()
// wraps -1), a double any JSON number, a string a string, a bool a bool. Error names `what` and key.
template <class T, class Json>
T json_field(const Json& j, const std::string& key, const std::string& what) {
  const Json& v = j.at(key);
  auto bad = [&](const char* expected) {
    fail(fmt::format("{}: '{}' must be {}, got {}", what, text_excerpt(key), expected, json_excerpt(v)));
  };
  if constexpr (std::is_same_v<T, bool>) {
    if (!v.is_boolean()) bad("true or false");
    return v.template get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!v.is_number_integer()) bad("an integer");
    if (v.is_number_unsigned()) {
      const auto u = v.template get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<T>::max())) bad("an integer in range");
      return T(u);
    }
    const auto i = v.template get<int64_t>();
    if (i < 0 && std::is_unsigned_v<T>) bad("a non-negative integer");
    if (std::is_signed_v<T> &&
        (i < int64_t(std::numeric_limits<T>::min()) || i > int64_t(std::numeric_limits<T>::max())))
      bad("an integer in range");
    return T(i);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!v.is_number()) bad("a number");
    return v.template get<T>();
  } else {
    static_assert(std::is_same_v<T, std::string>, "json_field: bool, integers, floating point or std::string");
    if (!v.is_string()) bad("a string");
    return v.template get<std::string>();
  }
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
