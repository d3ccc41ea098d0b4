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

// dropout(leaky_relu(x, slope), p) as one op (slope ≥ 0; relu_dropout is slope 0): the same output
// and gradients bit for bit, and the same Philox blocks, as the two ops one after the other, in one
// pass forward and one backward, keeping only the output y (the unfused pair keeps the activation's
// output as well). Backward, with scale = 1/(1 − p) and m_i the mask:
//   slope 0:  dx = y > 0 ? dy·scale : 0·dy            (y > 0 ⟺ x > 0 and kept: no mask needed)
//   slope > 0: dx = m_i ≠ 0 ? (y > 0 ? dy·scale : slope·(dy·scale)) : slope·(dy·0)   (mask drawn again)
// Evaluation or p == 0: leaky_relu(x, slope); p == 1: zeros. The models use it for their
// "activation, then dropout" pairs (TCN: ReLU; Seq-U-Net: LeakyReLU(0.01)).
Variable leaky_relu_dropout(const Variable& x, double slope, double p, bool training,
                            Generator& gen = default_generator());
Variable relu_dropout(const Variable& x, double p, bool training, Generator& gen = default_generator());

namespace tensor_ops {
// The scaled mask m (0 or 1/(1 − p)) of the shape and dtype given, drawn as described above
// (advances `gen` by ceil(numel / 4) blocks), allocated on `device`. Requires 0 ≤ p < 1.
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen, Device device = Device::cpu());
}  // namespace tensor_ops

}  // namespace seqnet
