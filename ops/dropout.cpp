// ops/dropout.cpp — inverted dropout: forward and backward multiply by the same saved mask.
//
// The mask is drawn by the backend's dropout kernel (ops/kernels/dropout.h) from blocks reserved
// here; the products are elementwise muls (tensor_ops::mul), so the op itself never loops.
#include "ops/dropout.h"

#include "ops/backend.h"
#include "ops/dispatch.h"
#include "ops/elementwise.h"

namespace seqnet {

namespace tensor_ops {

// m_i = (u_i ≥ p) / (1 − p),  u_i = lane i%4 of block first + i/4 (uniform f32 layout, core/rng.h)
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen, Device device) {
  check(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1) to draw a mask, got {}", p);
  const Backend& be = backend(device, "dropout");
  Tensor m = Tensor::empty(shape, dtype, device);
  const int64_t n = m.numel();
  const uint64_t first = gen.reserve(uint64_t(n + 3) / 4);
  be.dropout.mask(gen.state().seed, first, p, m);
  return m;
}

}  // namespace tensor_ops

// y = x ⊙ m;   dx = dy ⊙ m
Variable dropout(const Variable& x, double p, bool training, Generator& gen) {
  const char* op = "dropout";
  check(x.defined(), "{}: input is undefined", op);
  if (!(p >= 0.0 && p <= 1.0))
    fail(fmt::format("{}: p must be in [0, 1], got {} (input {})", op, p, x.data().describe()));
  if (!(is_floating(x.dtype()))) fail(fmt::format("{}: input must be f32 or f64, got {}", op, x.data().describe()));
  if (!training || p == 0.0) return x;
  if (p == 1.0) {
    Tensor zeros = Tensor::zeros(x.shape(), x.dtype(), x.data().device());
    return make_result(op, zeros, {x}, [zeros](const Tensor&) { return std::vector<Tensor>{zeros}; });
  }
  Tensor m = tensor_ops::dropout_mask(x.shape(), p, x.dtype(), gen, x.data().device());
  Tensor y = tensor_ops::mul(x.data().contiguous(), m);
  return make_result(op, y, {x}, [m](const Tensor& g) { return std::vector<Tensor>{tensor_ops::mul(g.contiguous(), m)}; });
}

}  // namespace seqnet
