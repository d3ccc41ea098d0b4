// ops/kernels/dropout.h — the dropout family's kernel contract.
//
//   mask   m_i := (u_i ≥ p) / (1 − p)   for every element i (row-major) of m, where
//          u_i = u32_to_unit_float(lane (i % 4) of Philox block (first_block + i / 4)) under key
//          `seed` (the uniform-f32 stream layout of core/rng.h; ops/dropout.h); the comparison
//          u_i ≥ p is done in double, the scale 1/(1 − p) is computed in double and rounded to
//          m's dtype once. 0 ≤ p < 1.
// m: f32 or f64, contiguous, fully overwritten; it consumes ceil(numel / 4) blocks, which the op
// has reserved (Generator::reserve) before the call.
//
//   apply  y_i := x_i · m_i   with m_i as above, drawn on the fly and never stored (bit for bit
//          x ⊙ mask(...): the product of x_i and the rounded scale or 0). x and y: same shape and
//          dtype (f32 or f64), contiguous; y fully overwritten. The op runs it forward on x and
//          backward on the incoming gradient with the same seed and first block, so a dropout
//          layer keeps no mask between the two passes.
#pragma once
#include <cstdint>

#include "core/tensor.h"

namespace seqnet {

struct DropoutKernels {
  void (*mask)(uint64_t seed, uint64_t first_block, double p, Tensor& m);
  void (*apply)(uint64_t seed, uint64_t first_block, double p, const Tensor& x, Tensor& y);
};

}  // namespace seqnet
