// ops/cpu/reduce.cpp — the CPU reduction kernels (contract: ops/kernels/reduce.h).
#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

void reduce_sum_all(const Tensor& x, Tensor& out) {
  dispatch_float(x.dtype(), "sum", [&]<typename T>() {
    const T* p = x.data<T>();
    double acc = 0;  // accumulate in double: f32 sums of long sequences stay accurate
    const int64_t n = x.numel();
#pragma omp parallel for reduction(+ : acc) if (n > 65536) schedule(static)
    for (int64_t i = 0; i < n; ++i) acc += double(p[i]);
    out.data<T>()[0] = T(acc);
  });
}

// `out` broadcast to g's shape has stride 0 on every dimension that was stretched: walking g
// and adding into the broadcast view sums those dimensions.
void reduce_sum_to(const Tensor& g, Tensor& out) {
  out.fill_(0.0);
  Tensor oe = out.expand(g.shape());
  dispatch_float(g.dtype(), "sum_to", [&]<typename T>() {
    T* o = out.data<T>();
    const T* p = g.data<T>();
    for_each_strided<2>(g.shape(), {&oe.strides(), &g.strides()},
                        [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& inc) {
                          T* op_ = o + off[0];
                          const T* gp = p + off[1];
                          if (inc[0] == 0) {
                            T acc = 0;
                            for (int64_t i = 0; i < n; ++i) acc += gp[i * inc[1]];
                            *op_ += acc;
                          } else {
                            for (int64_t i = 0; i < n; ++i) op_[i * inc[0]] += gp[i * inc[1]];
                          }
                        });
  });
}

ReduceKernels reduce_kernels() { return {.sum_all = reduce_sum_all, .sum_to = reduce_sum_to}; }

}  // namespace seqnet::cpu
