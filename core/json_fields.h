// core/json_fields.h — typed fields of JSON read from a file, checked before anything uses them.
//
// nlohmann's get<T>() answers a string where a number belongs with "[json.exception.type_error.302]
// type must be number, but is string", and happily returns -3 for a level count that later sizes a
// std::vector. Every JSON document seqnet reads from a file (checkpoint configurations and state,
// model configurations of reference files) is read through JsonFields instead: each read names
// the document, the field's path, what was found (an excerpt) and what is allowed, e.g.
//   runs/x/last.safetensors: checkpoint metadata 'config': field 'model_options.levels' must be a
//   whole number from 1 to 64; found -3
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace seqnet {

class JsonFields {
 public:
  // `doc` names the document ("<file>: checkpoint metadata 'config'"); `prefix` is the path of
  // this object inside it ("" at the top, "model_options." below). Error unless `j` is an object.
  JsonFields(const nlohmann::json& j, std::string doc, std::string prefix = "");

  // Present and not null (a missing or null field takes its default).
  bool has(const std::string& key) const;
  // The nested object `key` (required).
  JsonFields object(const std::string& key) const;

  std::string string(const std::string& key) const;
  // A string that is one of `allowed`.
  std::string one_of(const std::string& key, const std::vector<std::string>& allowed) const;
  bool boolean(const std::string& key) const;
  // A JSON integer (or a number in floating notation with a whole value) in [lo, hi].
  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  uint64_t uinteger(const std::string& key, uint64_t lo = 0,
                    uint64_t hi = std::numeric_limits<uint64_t>::max()) const;
  // A finite number in [lo, hi]; `allowed` says so in words when the bounds do not read well
  // ("a number in [0, 1)" for hi = nextafter(1, 0)).
  double number(const std::string& key, double lo = -std::numeric_limits<double>::max(),
                double hi = std::numeric_limits<double>::max(), const std::string& allowed = "") const;
  // Arrays of at most `max_count` elements, each checked like the scalar reads above.
  std::vector<int64_t> integers(const std::string& key, int64_t lo, int64_t hi, size_t max_count) const;
  std::vector<double> numbers(const std::string& key, size_t max_count) const;
  std::vector<std::string> strings(const std::string& key, size_t max_count) const;
  // The raw value of a required field (for a value kept as JSON).
  const nlohmann::json& value(const std::string& key) const;

  // "<doc>: field '<prefix><key>' must be <allowed>; found <excerpt of found>".
  [[noreturn]] void bad(const std::string& key, const std::string& allowed, const nlohmann::json& found) const;
  // "<doc>: field '<prefix><key>' <problem>" for checks that involve more than one field.
  [[noreturn]] void fail_field(const std::string& key, const std::string& problem) const;

  const std::string& doc() const { return doc_; }

 private:
  const nlohmann::json& j_;
  std::string doc_, prefix_;
};

}  // namespace seqnet
