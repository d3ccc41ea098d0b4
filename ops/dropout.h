// ops/dropout.h — inverted dropout drawn from the counter-based Philox generator.
#pragma once
#include "autograd/variable.h"
#include "core/rng.h"

namespace seqnet {

// Training: y = x ⊙ m with m_i = keep_i / (1 − p), keep_i = (u_i ≥ p); the same m is used in
// backward (dx = dy ⊙ m). Evaluation (training == false) or p == 0: returns x itself (same
// Variable, no draw). p == 1: zeros (no draw). p outside [0, 1] → Error.
//
// u_i follows the uniform-f32 stream layout of core/rng.h, so the CUDA backend can compute
// element i on its own: the op reserves ceil(n / 4) blocks starting at `first`, and
//   u_i = u32_to_unit_float(lane (i % 4) of gen.block(first + i / 4))
// where i is the row-major index of x's element. The comparison u_i ≥ p is exact (done in double).
Variable dropout(const Variable& x, double p, bool training, Generator& gen = default_generator());

namespace tensor_ops {
// The scaled mask m (0 or 1/(1 − p)) of the shape and dtype given, drawn as described above
// (advances `gen` by ceil(numel / 4) blocks), allocated on `device`. Requires 0 ≤ p < 1.
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen, Device device = Device::cpu());
}  // namespace tensor_ops

}  // namespace seqnet
