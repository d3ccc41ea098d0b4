// ops/dropout.cpp — inverted dropout: forward and backward multiply by the same mask.
//
// The mask is a function of (key, first block, p): the backend's kernels (ops/kernels/dropout.h)
// draw it from blocks reserved here. The op never stores it: forward and backward each call the
// `apply` kernel, which draws and multiplies in one pass (a stored mask would be one more
// activation-sized tensor per dropout layer, kept from the forward to the backward).
#include "ops/dropout.h"

#include <cmath>

#include "ops/activation.h"
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

// y = x ⊙ m;   dx = dy ⊙ m   (m drawn again from the same Philox blocks in the backward)
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
  const Device dev = x.data().device();
  const Tensor xc = x.data().contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  const uint64_t seed = gen.state().seed, first = gen.reserve(uint64_t(x.numel() + 3) / 4);
  backend(dev, op).dropout.apply(seed, first, p, xc, y);
  return make_result(op, y, {x}, [seed, first, p](const Tensor& g) {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(gc.shape(), gc.dtype(), gc.device());
    backend(gc.device(), "dropout backward").dropout.apply(seed, first, p, gc, dx);
    return std::vector<Tensor>{dx};
  });
}

// y = lrelu(x)·m;  slope 0: dx = y > 0 ? dy·scale : 0·dy;  slope > 0: dx = m ≠ 0 ? (y > 0 ? dy·scale :
// slope·dy·scale) : slope·(dy·0)   (ops/kernels/dropout.h; the mask drawn again only for slope > 0)
namespace {
Variable fused_leaky_relu_dropout(const char* op, const Variable& x, double slope, double p, bool training,
                                  Generator& gen) {
  check(x.defined(), "{}: input is undefined", op);
  if (!(p >= 0.0 && p <= 1.0))
    fail(fmt::format("{}: p must be in [0, 1], got {} (input {})", op, p, x.data().describe()));
  if (!(slope >= 0.0 && std::isfinite(slope)))
    fail(fmt::format("{}: slope must be finite and >= 0, got {} (input {})", op, slope, x.data().describe()));
  if (!(is_floating(x.dtype()))) fail(fmt::format("{}: input must be f32 or f64, got {}", op, x.data().describe()));
  if (!training || p == 0.0) return leaky_relu(x, slope);
  if (p == 1.0) return dropout(leaky_relu(x, slope), p, training, gen);
  const Device dev = x.data().device();
  const Tensor xc = x.data().contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), dev);
  const uint64_t seed = gen.state().seed, first = gen.reserve(uint64_t(x.numel() + 3) / 4);
  backend(dev, op).dropout.leaky_relu_apply(seed, first, p, slope, xc, y);
  return make_result(op, y, {x}, [op, seed, first, p, slope, y](const Tensor& g) {
    const Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(gc.shape(), gc.dtype(), gc.device());
    backend(gc.device(), op).dropout.leaky_relu_backward(seed, first, p, slope, y, gc, dx);
    return std::vector<Tensor>{dx};
  });
}
}  // namespace

Variable leaky_relu_dropout(const Variable& x, double slope, double p, bool training, Generator& gen) {
  return fused_leaky_relu_dropout("leaky_relu_dropout", x, slope, p, training, gen);
}

Variable relu_dropout(const Variable& x, double p, bool training, Generator& gen) {
  return fused_leaky_relu_dropout("relu_dropout", x, 0.0, p, training, gen);
}

}  // namespace seqnet
