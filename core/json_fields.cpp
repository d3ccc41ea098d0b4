// core/json_fields.cpp — see core/json_fields.h.
#include "core/json_fields.h"

#include <fmt/format.h>

#include <cmath>

#include "core/error.h"
#include "core/json.h"
#include "core/numbers.h"

namespace seqnet {

namespace {
using json = nlohmann::json;

// "-3", "\"abc\" (a string)", "null": the found value as written, and its kind where the kind is
// the problem.
std::string found_str(const json& v) {
  const std::string text = json_excerpt(v, 60);
  if (v.is_number() || v.is_null()) return text;
  const std::string kind = v.type_name();
  return fmt::format("{} ({} {})", text, kind == "array" || kind == "object" ? "an" : "a", kind);
}

// The value of an integer field in [lo, hi], or false. A float with a whole value counts (JSON
// writers may write 1e3 or 3.0); anything else does not.
template <typename T>
bool whole_in_range(const json& v, T lo, T hi, T& out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > uint64_t(std::numeric_limits<T>::max())) return false;
    out = T(u);
  } else if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if (i < 0 && std::numeric_limits<T>::min() == 0) return false;
    out = T(i);
  } else if (v.is_number_float()) {
    const long double d = v.get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<long double>(lo) ||
        d > static_cast<long double>(hi))
      return false;
    out = T(d);
  } else {
    return false;
  }
  return out >= lo && out <= hi;
}

std::string uint_range_str(uint64_t lo, uint64_t hi) {
  return fmt::format("from {} to {}", readable_uint(lo), readable_uint(hi));
}

std::string real_range_str(double lo, double hi) {
  const double big = std::numeric_limits<double>::max();
  if (lo <= -big && hi >= big) return "a finite number";
  if (hi >= big) return fmt::format("a finite number ≥ {:g}", lo);
  if (lo <= -big) return fmt::format("a finite number ≤ {:g}", hi);
  return fmt::format("a number from {:g} to {:g}", lo, hi);
}
}  // namespace

JsonFields::JsonFields(const json& j, std::string doc, std::string prefix)
    : j_(j), doc_(std::move(doc)), prefix_(std::move(prefix)) {
  if (!j_.is_object()) {
    if (prefix_.empty()) fail(fmt::format("{}: must be a JSON object; found {}", doc_, found_str(j_)));
    fail(fmt::format("{}: field '{}' must be a JSON object; found {}", doc_, prefix_.substr(0, prefix_.size() - 1),
                     found_str(j_)));
  }
}

bool JsonFields::has(const std::string& key) const { return j_.contains(key) && !j_.at(key).is_null(); }

const json& JsonFields::value(const std::string& key) const {
  if (!j_.contains(key)) fail(fmt::format("{}: field '{}{}' is missing", doc_, prefix_, key));
  return j_.at(key);
}

void JsonFields::bad(const std::string& key, const std::string& allowed, const json& found) const {
  fail(fmt::format("{}: field '{}{}' must be {}; found {}", doc_, prefix_, key, allowed, found_str(found)));
}

void JsonFields::fail_field(const std::string& key, const std::string& problem) const {
  fail(fmt::format("{}: field '{}{}' {}", doc_, prefix_, key, problem));
}

JsonFields JsonFields::object(const std::string& key) const {
  const json& v = value(key);
  if (!v.is_object()) bad(key, "a JSON object", v);
  return JsonFields(v, doc_, prefix_ + key + ".");
}

std::string JsonFields::string(const std::string& key) const {
  const json& v = value(key);
  if (!v.is_string()) bad(key, "a string", v);
  return v.get<std::string>();
}

std::string JsonFields::one_of(const std::string& key, const std::vector<std::string>& allowed) const {
  const json& v = value(key);
  const std::string what = fmt::format("one of {}", fmt::join(allowed, ", "));
  if (!v.is_string()) bad(key, what, v);
  const std::string s = v.get<std::string>();
  for (const std::string& a : allowed)
    if (s == a) return s;
  bad(key, what, v);
}

bool JsonFields::boolean(const std::string& key) const {
  const json& v = value(key);
  if (!v.is_boolean()) bad(key, "true or false", v);
  return v.get<bool>();
}

int64_t JsonFields::integer(const std::string& key, int64_t lo, int64_t hi) const {
  const json& v = value(key);
  int64_t out = 0;
  if (!whole_in_range<int64_t>(v, lo, hi, out)) bad(key, "a whole number " + int_range_str(lo, hi), v);
  return out;
}

uint64_t JsonFields::uinteger(const std::string& key, uint64_t lo, uint64_t hi) const {
  const json& v = value(key);
  uint64_t out = 0;
  if (!whole_in_range<uint64_t>(v, lo, hi, out)) bad(key, "a whole number " + uint_range_str(lo, hi), v);
  return out;
}

double JsonFields::number(const std::string& key, double lo, double hi, const std::string& allowed) const {
  const json& v = value(key);
  if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < lo || v.get<double>() > hi)
    bad(key, allowed.empty() ? real_range_str(lo, hi) : allowed, v);
  return v.get<double>();
}

std::vector<int64_t> JsonFields::integers(const std::string& key, int64_t lo, int64_t hi, size_t max_count) const {
  const json& v = value(key);
  const std::string each = "a whole number " + int_range_str(lo, hi);
  if (!v.is_array() || v.size() > max_count)
    bad(key, fmt::format("an array of at most {} elements, each {}", max_count, each), v);
  std::vector<int64_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i)
    if (!whole_in_range<int64_t>(v[i], lo, hi, out[i])) bad(fmt::format("{}[{}]", key, i), each, v[i]);
  return out;
}

std::vector<double> JsonFields::numbers(const std::string& key, size_t max_count) const {
  const json& v = value(key);
  if (!v.is_array() || v.size() > max_count)
    bad(key, fmt::format("an array of at most {} numbers", max_count), v);
  std::vector<double> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number()) bad(fmt::format("{}[{}]", key, i), "a number", v[i]);
    out[i] = v[i].get<double>();
  }
  return out;
}

std::vector<std::string> JsonFields::strings(const std::string& key, size_t max_count) const {
  const json& v = value(key);
  if (!v.is_array() || v.size() > max_count)
    bad(key, fmt::format("an array of at most {} strings", max_count), v);
  std::vector<std::string> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) bad(fmt::format("{}[{}]", key, i), "a string", v[i]);
    out[i] = v[i].get<std::string>();
  }
  return out;
}

}  // namespace seqnet
