// ops/cpu/weight_norm.cpp — the CPU weight-norm kernels: one pass per output channel, channels
// spread over the threads when the weight is large.
//
// The contract (ops/kernels/weight_norm.h) says what forward and backward compute. The per-row
// sums are in double, as eight interleaved partial sums (so the compiler can vectorise them and
// the additions do not wait on each other); the order differs from a left-to-right sum only in
// the last bits of a double, far below the float result's rounding.
#include <cmath>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {
// Σ_k double(a[k]) · double(b[k]), eight partial sums combined pairwise at the end.
template <typename T>
double dot_double(const T* __restrict a, const T* __restrict b, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += double(a[k + j]) * double(b[k + j]);
  for (; k < n; ++k) acc[k % 8] += double(a[k]) * double(b[k]);
  return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
}
constexpr int64_t kParallelElements = 1 << 16;
}  // namespace

// norms[o] = ‖v[o]‖, W[o] = g[o] · v[o] / norms[o]
void weight_norm_forward(const Tensor& g, const Tensor& v, Tensor& norms, Tensor& W) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;  // elements per output channel
  dispatch_float(v.dtype(), op, [&]<typename T>() {
    const T* pg = g.data<T>();
    const T* pv = v.data<T>();
    T* pn = norms.data<T>();
    T* pw = W.data<T>();
    int64_t zero_row = -1;
#pragma omp parallel for if (C * R > kParallelElements) schedule(static)
    for (int64_t o = 0; o < C; ++o) {
      const double ss = dot_double(pv + o * R, pv + o * R, R);
      if (!(ss > 0)) {
#pragma omp critical(weight_norm_zero_row)
        if (zero_row < 0 || o < zero_row) zero_row = o;
        continue;
      }
      pn[o] = T(std::sqrt(ss));
      const T scale = pg[o] / pn[o];
      for (int64_t k = 0; k < R; ++k) pw[o * R + k] = scale * pv[o * R + k];
    }
    if (zero_row >= 0) fail(fmt::format("{}: v[{}] has norm 0 (v {}); W would be NaN", op, zero_row, v.describe()));
  });
}

// s[o] = Σ dW[o] ⊙ v[o]:  dg[o] = s[o] / n,  dv[o] = (g[o] / n) · (dW[o] − s[o] · v[o] / n²)
void weight_norm_backward(const Tensor& g, const Tensor& v, const Tensor& norms, const Tensor& dW, Tensor& dg,
                          Tensor& dv) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;
  const bool need_g = dg.defined(), need_v = dv.defined();
  dispatch_float(v.dtype(), op, [&]<typename T>() {
    const T* pg = g.data<T>();
    const T* pv = v.data<T>();
    const T* pn = norms.data<T>();
    const T* pd = dW.data<T>();
    T* pdg = need_g ? dg.data<T>() : nullptr;
    T* pdv = need_v ? dv.data<T>() : nullptr;
#pragma omp parallel for if (C * R > kParallelElements) schedule(static)
    for (int64_t o = 0; o < C; ++o) {
      const double s = dot_double(pd + o * R, pv + o * R, R);
      const T n = pn[o];
      if (need_g) pdg[o] = T(s) / n;
      if (need_v) {
        const T a = pg[o] / n, b = T(s) / (n * n);
        for (int64_t k = 0; k < R; ++k) pdv[o * R + k] = a * (pd[o * R + k] - b * pv[o * R + k]);
      }
    }
  });
}

WeightNormKernels weight_norm_kernels() { return {.forward = weight_norm_forward, .backward = weight_norm_backward}; }

}  // namespace seqnet::cpu
