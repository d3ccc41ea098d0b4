// ops/dropout.cpp — inverted dropout: forward and backward multiply by the same saved mask.
#include "ops/dropout.h"

#include <cmath>

#include "ops/dispatch.h"

namespace seqnet {

namespace kernels {

// m_i = (u_i ≥ p) / (1 − p),  u_i = lane i%4 of block first + i/4 (uniform f32 layout, core/rng.h)
Tensor dropout_mask(const Shape& shape, double p, DType dtype, Generator& gen) {
  check(p >= 0.0 && p < 1.0, "dropout: p must be in [0, 1) to draw a mask, got {}", p);
  Tensor m = Tensor::empty(shape, dtype);
  const int64_t n = m.numel();
  const uint64_t first = gen.reserve(uint64_t(n + 3) / 4);
  dispatch_float(dtype, "dropout", [&]<typename T>() {
    T* pm = m.data<T>();
    const T scale = T(1.0 / (1.0 - p));
#pragma omp parallel for if (n > 65536) schedule(static)
    for (int64_t b = 0; b < (n + 3) / 4; ++b) {
      const auto lanes = gen.block(first + uint64_t(b));
      for (int64_t j = 0; j < 4 && 4 * b + j < n; ++j) {
        const double u = double(u32_to_unit_float(lanes[size_t(j)]));
        pm[4 * b + j] = u >= p ? scale : T(0);
      }
    }
  });
  return m;
}

}  // namespace kernels

// y = x ⊙ m;   dx = dy ⊙ m
Variable dropout(const Variable& x, double p, bool training, Generator& gen) {
  const char* op = "dropout";
  check(x.defined(), "{}: input is undefined", op);
  check(p >= 0.0 && p <= 1.0, "{}: p must be in [0, 1], got {} (input {})", op, p, x.data().describe());
  check(is_floating(x.dtype()), "{}: input must be f32 or f64, got {}", op, x.data().describe());
  check_cpu(x.data(), op);
  if (!training || p == 0.0) return x;
  if (p == 1.0) {
    Tensor zeros = Tensor::zeros(x.shape(), x.dtype());
    return make_result(op, zeros, {x}, [zeros](const Tensor&) { return std::vector<Tensor>{zeros}; });
  }
  Tensor m = kernels::dropout_mask(x.shape(), p, x.dtype(), gen);
  Tensor xc = x.data().contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  auto multiply = [](Tensor& out, const Tensor& a, const Tensor& mask) {
    dispatch_float(a.dtype(), "dropout", [&]<typename T>() {
      const T* pa = a.data<T>();
      const T* pm = mask.data<T>();
      T* po = out.data<T>();
      const int64_t n = a.numel();
#pragma omp parallel for if (n > 65536) schedule(static)
      for (int64_t i = 0; i < n; ++i) po[i] = pa[i] * pm[i];
    });
  };
  multiply(y, xc, m);
  return make_result(op, y, {x}, [m, multiply](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = Tensor::empty(m.shape(), m.dtype());
    multiply(dx, gc, m);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace seqnet
