#include "core/rng.h"

#include <algorithm>

#include "core/philox.h"

#include <cmath>

namespace seqnet {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  const PhiloxBlock b = philox4x32_10_rounds(c[0], c[1], c[2], c[3], k[0], k[1]);  // core/philox.h
  return {b.lane[0], b.lane[1], b.lane[2], b.lane[3]};
}

std::array<uint32_t, 4> Generator::block(uint64_t index) const {
  return philox4x32_10({uint32_t(index), uint32_t(index >> 32), 0u, 0u},
                       {uint32_t(state_.seed), uint32_t(state_.seed >> 32)});
}

void Generator::uniform(float* out, int64_t n, float lo, float hi) {
  uint64_t first = reserve(uint64_t(n + 3) / 4);
  for (int64_t i0 = 0; i0 < n; i0 += 4) {  // one block per four values
    const auto b = block(first + uint64_t(i0) / 4);
    for (int64_t i = i0; i < std::min(n, i0 + 4); ++i) out[i] = lo + (hi - lo) * u32_to_unit_float(b[size_t(i - i0)]);
  }
}

void Generator::uniform(double* out, int64_t n, double lo, double hi) {
  uint64_t first = reserve(uint64_t(n + 1) / 2);
  for (int64_t i0 = 0; i0 < n; i0 += 2) {  // one block per two values
    const auto b = block(first + uint64_t(i0) / 2);
    for (int64_t i = i0; i < std::min(n, i0 + 2); ++i) {
      const size_t j = size_t(i - i0);
      const uint64_t bits = (uint64_t(b[2 * j]) << 32) | b[2 * j + 1];
      out[i] = lo + (hi - lo) * u64_to_unit_double(bits);
    }
  }
}

namespace {
// Box–Muller on one block: u1 in (0, 1] from lanes 0-1, u2 in [0, 1) from lanes 2-3.
double normal_from_block(const std::array<uint32_t, 4>& b) {
  double u1 = 1.0 - u64_to_unit_double((uint64_t(b[0]) << 32) | b[1]);
  double u2 = u64_to_unit_double((uint64_t(b[2]) << 32) | b[3]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}
}  // namespace

void Generator::normal(float* out, int64_t n, float mean, float stddev) {
  uint64_t first = reserve(uint64_t(n));
  for (int64_t i = 0; i < n; ++i) out[i] = float(mean + stddev * normal_from_block(block(first + i)));
}

void Generator::normal(double* out, int64_t n, double mean, double stddev) {
  uint64_t first = reserve(uint64_t(n));
  for (int64_t i = 0; i < n; ++i) out[i] = mean + stddev * normal_from_block(block(first + i));
}

uint64_t Generator::next_u64() {
  auto b = block(reserve(1));
  return (uint64_t(b[0]) << 32) | b[1];
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace seqnet
