// ops/cpu/dropout.cpp — the CPU dropout mask (contract: ops/kernels/dropout.h).
#include "core/rng.h"
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// m_i = (u_i ≥ p) / (1 − p),  u_i = lane i%4 of block first + i/4 (uniform f32 layout, core/rng.h)
void dropout_mask(uint64_t seed, uint64_t first, double p, Tensor& m) {
  const Generator gen(seed);  // Generator::block depends only on the seed and the block index
  const int64_t n = m.numel();
  dispatch_float(m.dtype(), "dropout", [&]<typename T>() {
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
}

DropoutKernels dropout_kernels() { return {.mask = dropout_mask}; }

}  // namespace seqnet::cpu
