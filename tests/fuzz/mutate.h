// tests/fuzz/mutate.h — deterministic mutations of seed files for the fuzz driver (fuzz_main.cpp).
//
// Mutant i of a run depends only on (--seed, i): its generator is seeded from both through
// splitmix64, so `seqnet_fuzz --only i` replays it alone. Each mutant stacks 1–4 operations; every
// operation appends a line to `log` saying what it did (offsets, values), printed when a mutant fails.
#pragma once
#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace seqnet::fuzz {

// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator; one per mutant.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. (The modulo bias is irrelevant here.)
  uint64_t below(uint64_t n) { return next() % n; }
  bool coin(unsigned percent) { return below(100) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[size_t(below(v.size()))]; }

 private:
  uint64_t s_;
};

// The generator of mutant `index` of a run seeded with `seed`.
inline Rng mutant_rng(uint64_t seed, uint64_t index) {
  Rng mix(seed ^ 0x5EC0E7F022ull);
  const uint64_t a = mix.next();
  Rng mix2(a ^ (index * 0xD1B54A32D192ED03ull));
  return Rng(mix2.next());
}

// What kind of input a mutation works on: plain binary, a safetensors file (8-byte length + JSON
// header, whose length field is kept consistent after a JSON edit), or text.
enum class Format { Binary, Safetensors, Text };

class Mutator {
 public:
  Mutator(Rng& rng, std::vector<std::string>& log) : rng_(rng), log_(log) {}

  // Applies 1–4 stacked operations to `data`.
  void mutate(std::string& data, Format format) {
    const int n = 1 + int(rng_.below(4));
    for (int k = 0; k < n; ++k) {
      // Structure-aware edits half of the time where the input has structure.
      if (format == Format::Safetensors && rng_.coin(50) && json_header_edit(data)) continue;
      if (format == Format::Text && rng_.coin(50)) {
        text_edit(data, 0, data.size());
        continue;
      }
      binary_edit(data);
    }
  }

 private:
  Rng& rng_;
  std::vector<std::string>& log_;

  // An offset in [0, size): half the time among the first 256 bytes, where the headers are.
  size_t offset(size_t size) {
    if (size == 0) return 0;
    if (rng_.coin(50)) return size_t(rng_.below(std::min<size_t>(size, 256)));
    return size_t(rng_.below(size));
  }

  void binary_edit(std::string& d) {
    const size_t size = d.size();
    switch (rng_.below(size == 0 ? 1 : 8)) {
      case 0: {  // insert random bytes (the only operation that applies to an empty file)
        const size_t at = size == 0 ? 0 : size_t(rng_.below(size + 1));
        const size_t n = 1 + size_t(rng_.below(32));
        std::string bytes(n, '\0');
        for (char& c : bytes) c = char(rng_.below(256));
        d.insert(at, bytes);
        log_.push_back(fmt::format("insert {} random bytes at {}", n, at));
        break;
      }
      case 1: {  // bit flip
        const size_t at = offset(size);
        const int bit = int(rng_.below(8));
        d[at] = char(uint8_t(d[at]) ^ (1u << bit));
        log_.push_back(fmt::format("flip bit {} of byte {}", bit, at));
        break;
      }
      case 2: {  // interesting byte
        static constexpr uint8_t kBytes[] = {0x00, 0xFF, 0x7F, 0x80, 0x01};
        const size_t at = offset(size);
        const uint8_t v = kBytes[rng_.below(std::size(kBytes))];
        d[at] = char(v);
        log_.push_back(fmt::format("set byte {} to 0x{:02x}", at, v));
        break;
      }
      case 3: {  // 16/32/64-bit little-endian field := interesting integer
        static constexpr int kWidths[] = {2, 4, 8};
        const int w = kWidths[rng_.below(3)];
        if (size < size_t(w)) return binary_edit_truncate(d);
        size_t at = std::min(offset(size), size - size_t(w));
        if (rng_.coin(60)) at -= at % size_t(w);  // fields are usually aligned
        const uint64_t v = interesting_int(size);
        std::memcpy(d.data() + at, &v, size_t(w));  // little-endian host (static_assert in safetensors.cpp)
        log_.push_back(fmt::format("write {}-bit 0x{:x} at {}", 8 * w, w == 8 ? v : v & ((1ull << (8 * w)) - 1), at));
        break;
      }
      case 4: binary_edit_truncate(d); break;
      case 5: {  // delete a range
        const size_t at = offset(size);
        const size_t n = 1 + size_t(rng_.below(std::min<size_t>(64, size - at)));
        d.erase(at, n);
        log_.push_back(fmt::format("delete {} bytes at {}", n, at));
        break;
      }
      case 6: {  // duplicate a block somewhere else
        const size_t from = offset(size);
        const size_t n = 1 + size_t(rng_.below(std::min<size_t>(128, size - from)));
        const size_t to = size_t(rng_.below(size + 1));
        const std::string block = d.substr(from, n);
        d.insert(to, block);
        log_.push_back(fmt::format("duplicate {} bytes from {} to {}", n, from, to));
        break;
      }
      default: {  // several random bytes in a row (a damaged sector in miniature)
        const size_t at = offset(size);
        const size_t n = 1 + size_t(rng_.below(std::min<size_t>(16, size - at)));
        for (size_t k = 0; k < n; ++k) d[at + k] = char(rng_.below(256));
        log_.push_back(fmt::format("randomise {} bytes at {}", n, at));
        break;
      }
    }
  }

  void binary_edit_truncate(std::string& d) {
    const size_t at = d.empty() ? 0 : size_t(rng_.below(d.size()));
    d.resize(at);
    log_.push_back(fmt::format("truncate to {} bytes", at));
  }

  uint64_t interesting_int(size_t size) {
    const std::vector<uint64_t> v = {0,
                                     1,
                                     uint64_t(-1),
                                     uint64_t(-2),
                                     uint64_t(-8),
                                     0x7F,
                                     0x80,
                                     0xFF,
                                     0x7FFF,
                                     0x8000,
                                     0xFFFF,
                                     uint64_t(std::numeric_limits<int32_t>::max()),
                                     uint64_t(uint32_t(std::numeric_limits<int32_t>::min())),
                                     0xFFFFFFFFull,
                                     uint64_t(std::numeric_limits<int64_t>::max()),
                                     uint64_t(std::numeric_limits<int64_t>::min()),
                                     1ull << 40,
                                     uint64_t(size),
                                     uint64_t(size) - 1,
                                     uint64_t(size) + 1,
                                     uint64_t(size) / 2,
                                     uint64_t(size) * 2};
    return rng_.pick(v);
  }

  // ---- text-like edits ---------------------------------------------------------------------------

  // Token-aware edit of d[begin, end) (a JSON header or a text file); returns the change in size.
  std::ptrdiff_t text_edit(std::string& d, size_t begin, size_t end) {
    const size_t before = d.size();
    switch (rng_.below(5)) {
      case 0:
      case 1: replace_number(d, begin, end); break;
      case 2: nest_deeply(d, begin, end); break;
      case 3: {  // invalid (or unusual) UTF-8 / control bytes
        static const std::vector<std::string> kBytes = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                                        "\xe2\x82", "\xc3\xa9", std::string(1, '\0'), "\r", "\\u0000",
                                                        "\\ud800", "\""};
        const std::string& s = rng_.pick(kBytes);
        const size_t at = begin + size_t(rng_.below(end - begin + 1));
        d.insert(at, s);
        log_.push_back(fmt::format("insert {} byte(s) {:02x} at {}", s.size(), fmt::join(bytes_of(s), " "), at));
        break;
      }
      default: {  // a long token (a word, a key, a name)
        const size_t n = rng_.pick(std::vector<size_t>{100, 5000, 70000});
        const size_t at = begin + size_t(rng_.below(end - begin + 1));
        d.insert(at, std::string(n, char('a' + rng_.below(26))));
        log_.push_back(fmt::format("insert a {}-character token at {}", n, at));
        break;
      }
    }
    return std::ptrdiff_t(d.size()) - std::ptrdiff_t(before);
  }

  static std::vector<unsigned> bytes_of(const std::string& s) {
    std::vector<unsigned> b;
    for (unsigned char c : s) b.push_back(c);
    return b;
  }

  // Spans [b, e) of numbers (-?digits[.digits][e±digits]) in d[begin, end).
  static std::vector<std::pair<size_t, size_t>> numbers(const std::string& d, size_t begin, size_t end) {
    std::vector<std::pair<size_t, size_t>> out;
    auto digit = [&](size_t i) { return i < end && d[i] >= '0' && d[i] <= '9'; };
    for (size_t i = begin; i < end;) {
      if (!digit(i)) { ++i; continue; }
      size_t b = (i > begin && d[i - 1] == '-') ? i - 1 : i, e = i;
      while (digit(e) || (e < end && (d[e] == '.' || d[e] == 'e' || d[e] == 'E' || d[e] == '+' ||
                                       (d[e] == '-' && (d[e - 1] == 'e' || d[e - 1] == 'E')))))
        ++e;
      out.emplace_back(b, e);
      i = e;
    }
    return out;
  }

  void replace_number(std::string& d, size_t begin, size_t end) {
    const auto spans = numbers(d, begin, end);
    if (spans.empty()) return nest_deeply(d, begin, end);
    const auto [b, e] = rng_.pick(spans);
    // Raw values for JSON and text; escaped strings for the JSON held inside checkpoint metadata.
    static const std::vector<std::string> kValues = {
        "0",     "-1",   "-5",   "1e300", "-1e300", "1e400", "NaN", "Infinity", "-0", "0.5", "2.5e-320",
        "9223372036854775807", "9223372036854775808", "-9223372036854775809", "18446744073709551615",
        "99999999999999999999999999", "4294967296", "65", "1000", "100000", "\"x\"", "\\\"x\\\"", "[]", "{}",
        "null", "true", "[1,2]"};
    const std::string& v = rng_.pick(kValues);
    log_.push_back(fmt::format("replace number '{}' at {} by {}", d.substr(b, e - b), b, v));
    d.replace(b, e - b, v);
  }

  // Wraps a number (or, without one, whatever is at a random place) in `depth` brackets.
  void nest_deeply(std::string& d, size_t begin, size_t end) {
    const size_t depth = rng_.pick(std::vector<size_t>{2, 63, 64, 65, 200, 100000});
    const auto spans = numbers(d, begin, end);
    size_t b = begin + size_t(rng_.below(end - begin + 1)), e = b;
    if (!spans.empty()) std::tie(b, e) = rng_.pick(spans);
    const bool object = rng_.coin(30);
    const std::string open = object ? "{\"k\":" : "[", close = object ? "}" : "]";
    std::string open_all, close_all;
    for (size_t k = 0; k < depth; ++k) open_all += open, close_all += close;
    d.insert(e, close_all);
    d.insert(b, open_all);
    log_.push_back(fmt::format("nest bytes [{}, {}) {} levels deep in {}", b, e, depth, object ? "objects" : "arrays"));
  }

  // A JSON edit of the safetensors header; false (nothing done) when the length field is already
  // unusable. The length field is rewritten so the edit reaches the JSON parser.
  bool json_header_edit(std::string& d) {
    if (d.size() < 8) return false;
    uint64_t len = 0;
    std::memcpy(&len, d.data(), 8);
    if (len > d.size() - 8) return false;
    // Half the time edit only the metadata (a checkpoint's config and state), which the tensor
    // entries before it would otherwise outnumber.
    size_t begin = 8;
    if (const size_t md = d.find("\"__metadata__\"", 8); md < 8 + len && rng_.coin(50)) begin = md;
    const std::ptrdiff_t delta = text_edit(d, begin, 8 + size_t(len));
    len = uint64_t(std::ptrdiff_t(len) + delta);
    std::memcpy(d.data(), &len, 8);
    log_.back() += fmt::format(" (header length now {})", len);
    return true;
  }
};

}  // namespace seqnet::fuzz
