// core/rng.h — a seeded, counter-based random number generator (Philox4x32-10).
//
// Philox (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11) turns a
// 128-bit counter and a 64-bit key into 128 random bits with ten cheap rounds. Because output
// block i depends only on (key, i), any thread — or any CUDA thread later — can compute element
// i of a draw without touching the others, so the CPU and GPU backends produce identical
// streams. The whole state of a Generator is two integers (seed, offset): saving them in a
// checkpoint and restoring them resumes a run bit-exactly.
//
// Stream layout (the contract the CUDA backend must reproduce):
//   a draw of n values starts at block `offset`;
//   uniform f32:  value i = top 24 bits of lane (i % 4) of block offset + i / 4,   * 2^-24
//   uniform f64:  value i = top 53 bits of lanes (2j, 2j+1), j = i % 2, of block offset + i / 2
//   normal:       value i = Box–Muller cos branch on two 53-bit uniforms from block offset + i
//   afterwards offset advances by the number of blocks used.
#pragma once
#include <array>
#include <cstdint>

#include "core/host_device.h"

namespace seqnet {

// One Philox4x32-10 evaluation: 128 random bits for (counter, key).
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key);

struct RngState {
  uint64_t seed = 0;
  uint64_t offset = 0;  // next unused 128-bit block
  bool operator==(const RngState&) const = default;
};

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : state_{seed, 0} {}

  void manual_seed(uint64_t seed) { state_ = {seed, 0}; }
  RngState state() const { return state_; }
  void set_state(RngState s) { state_ = s; }

  // Reserve `blocks` counter blocks and return the first; kernels then compute block(first + i).
  uint64_t reserve(uint64_t blocks) {
    uint64_t first = state_.offset;
    state_.offset += blocks;
    return first;
  }
  std::array<uint32_t, 4> block(uint64_t index) const;

  // Fill helpers (CPU). Each call consumes a fresh range of blocks.
  void uniform(float* out, int64_t n, float lo, float hi);
  void uniform(double* out, int64_t n, double lo, double hi);
  void normal(float* out, int64_t n, float mean, float stddev);
  void normal(double* out, int64_t n, double mean, double stddev);
  uint64_t next_u64();  // one block, lanes 0-1

 private:
  RngState state_;
};

// The process-wide default generator (the one global mutable state besides the allocator).
Generator& default_generator();
void manual_seed(uint64_t seed);

// Bit-to-float conversions shared with the kernels.
SEQNET_HOST_DEVICE inline float u32_to_unit_float(uint32_t x) {
  return float(x >> 8) * (1.0f / 16777216.0f);
}  // = philox_unit_float
SEQNET_HOST_DEVICE inline double u64_to_unit_double(uint64_t x) { return double(x >> 11) * (1.0 / 9007199254740992.0); }

}  // namespace seqnet
