// core/numbers.h — whole numbers and ranges read from text a person or a file gave (flags,
// environment variables, file metadata), and ranges written so that a person can read them.
//
// std::stoll and friends answer "stoll" or "out of range" with nothing about where the text came
// from; CLI11 prints a bound like numeric_limits<double>::max() with all its 309 digits. Here a
// bad value is reported as what was found and what is allowed ("a whole number from 1 to 2^62").
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace seqnet {

// A bound as people write it: powers of two from 2^16 up as "2^k", INT64_MAX as "2^63 - 1",
// UINT64_MAX as "2^64 - 1"; decimal otherwise.
std::string readable_int(int64_t v);
std::string readable_uint(uint64_t v);
// "from 1 to 1024", "at least 0" (when `hi` is INT64_MAX).
std::string int_range_str(int64_t lo, int64_t hi);

// Whether `text` is a whole number in [lo, hi]: decimal digits with an optional sign, or a number
// in floating notation whose value is a whole number (1e8, 2.5e3). Returns "" and stores the value
// in `out`, or says what is wrong ("is not a number", "is not a whole number", "is out of range").
std::string whole_number_problem(std::string_view text, int64_t lo, int64_t hi, int64_t& out);
std::string whole_number_problem(std::string_view text, uint64_t lo, uint64_t hi, uint64_t& out);

// The value of `text` as a whole number in [lo, hi]; otherwise Error
//   "<what> must be a whole number from <lo> to <hi>; found '<text>' (<problem>)".
int64_t parse_int(std::string_view text, const std::string& what, int64_t lo, int64_t hi);

// Whether `text` is a finite number in [lo, hi] (a bound of ±inf is open). Returns "" and stores
// the value in `out`, or says what is wrong.
std::string real_number_problem(std::string_view text, double lo, double hi, double& out);

// `text` cut to about `max_chars` bytes (at a UTF-8 character boundary, with "… (N characters)"
// appended when cut): names, keys, values and strings read from a file or a flag are quoted in
// error messages this way, never dumped whole.
std::string text_excerpt(std::string_view text, size_t max_chars = 80);

}  // namespace seqnet
