// core/numbers.cpp — see core/numbers.h.
#include "core/numbers.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "core/error.h"

namespace seqnet {

namespace {

// "2^k" for an exact power of two from 2^16 up, else "".
std::string power_of_two(uint64_t v) {
  if (v < (uint64_t(1) << 16) || (v & (v - 1)) != 0) return "";
  return fmt::format("2^{}", __builtin_ctzll(v));
}

// The value of `text` in floating notation as a long double (whose 64-bit mantissa on x86 holds
// every 64-bit integer exactly), or "" set in `problem`.
bool parse_long_double(std::string_view text, long double& v, std::string& problem) {
  const std::string s(text);
  // strtold skips leading blanks and reads "inf", "nan" and hex floats: refuse those here.
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0])) ||
      s.find_first_not_of("0123456789+-.eE") != std::string::npos) {
    problem = "not a number";
    return false;
  }
  char* end = nullptr;
  v = std::strtold(s.c_str(), &end);
  if (end != s.c_str() + s.size()) {
    problem = "not a number";
    return false;
  }
  return true;
}

template <typename T>
std::string whole_problem(std::string_view text, T lo, T hi, T& out) {
  T v{};
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && ptr == text.data() + text.size()) {
    if (v < lo || v > hi) return "out of range";
    out = v;
    return "";
  }
  // Digits alone that do not fit T: out of range, without a detour through floating point.
  if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) return "out of range";
  long double d = 0;
  std::string problem;
  if (!parse_long_double(text, d, problem)) return problem;
  if (!std::isfinite(d)) return "out of range";
  if (d != std::floor(d)) return "not a whole number";
  // 2^digits is exact in any floating type; the cast below is defined only under it (where long
  // double is only 64 bits wide, e.g. under valgrind, INT64_MAX itself rounds up to 2^63).
  if (d >= std::ldexp(1.0L, std::numeric_limits<T>::digits)) return "out of range";
  if (d < static_cast<long double>(lo) || d > static_cast<long double>(hi)) return "out of range";
  out = static_cast<T>(d);
  return "";
}

}  // namespace

std::string readable_uint(uint64_t v) {
  if (v == std::numeric_limits<uint64_t>::max()) return "2^64 - 1";
  if (const std::string p = power_of_two(v); !p.empty()) return p;
  return fmt::format("{}", v);
}

std::string readable_int(int64_t v) {
  if (v == std::numeric_limits<int64_t>::max()) return "2^63 - 1";
  if (v == std::numeric_limits<int64_t>::min()) return "-2^63";
  if (v < 0) return fmt::format("-{}", readable_uint(uint64_t(-v)));
  return readable_uint(uint64_t(v));
}

std::string int_range_str(int64_t lo, int64_t hi) {
  if (hi == std::numeric_limits<int64_t>::max()) return fmt::format("at least {}", readable_int(lo));
  return fmt::format("from {} to {}", readable_int(lo), readable_int(hi));
}

std::string whole_number_problem(std::string_view text, int64_t lo, int64_t hi, int64_t& out) {
  return whole_problem<int64_t>(text, lo, hi, out);
}

std::string whole_number_problem(std::string_view text, uint64_t lo, uint64_t hi, uint64_t& out) {
  if (!text.empty() && text[0] == '-') {  // from_chars<uint64_t> refuses it as "not a number"
    long double d = 0;
    std::string problem;
    if (!parse_long_double(text, d, problem)) return problem;
    return d == std::floor(d) ? "out of range" : "not a whole number";
  }
  return whole_problem<uint64_t>(text, lo, hi, out);
}

int64_t parse_int(std::string_view text, const std::string& what, int64_t lo, int64_t hi) {
  int64_t v = 0;
  const std::string problem = whole_number_problem(text, lo, hi, v);
  if (!problem.empty())
    fail(fmt::format("{} must be a whole number {}; found '{}'{}", what, int_range_str(lo, hi), text_excerpt(text, 40),
                     problem == "out of range" ? "" : " (" + problem + ")"));
  return v;
}

std::string real_number_problem(std::string_view text, double lo, double hi, double& out) {
  long double d = 0;
  std::string problem;
  if (!parse_long_double(text, d, problem)) return problem;
  const double v = static_cast<double>(d);
  if (!std::isfinite(v)) return "out of range";
  if (v < lo || v > hi) return "out of range";
  out = v;
  return "";
}

std::string text_excerpt(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return std::string(text);
  size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
  return fmt::format("{}… ({} characters)", text.substr(0, cut), text.size());
}

}  // namespace seqnet
