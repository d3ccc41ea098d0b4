// cuda/ops/weight_norm.cu — the CUDA weight-norm kernels (contract: ops/kernels/weight_norm.h; the
// CPU twins: ops/cpu/weight_norm.cpp).
//
// One block per output channel o: its threads sum their slices of the channel's R elements in
// double, combine them in a fixed shared-memory tree (no atomics on floats: a rerun is bitwise
// identical), then write the channel's outputs. The forward's "norm 0" check: each block whose sum
// of squares is not > 0 lowers a device i64 (integer atomicMin, order-independent) to its channel;
// the launcher copies it back and throws the CPU's Error for the first such channel.
#include <cmath>

#include "cuda/backend.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"

namespace seqnet::cuda {

namespace {

// Block o: ss = Σ v[o]² (double), norms[o] = T(√ss), W[o] = (g[o] / norms[o]) · v[o];
// *first_bad = min(*first_bad, o) when !(ss > 0).
template <typename T>
__global__ void forward_kernel(T* norms, T* W, long long* first_bad, const T* g, const T* v, int64_t R) {
  const int64_t o = blockIdx.x;
  const T* vo = v + o * R;
  double ss = 0;
  for (int64_t k = threadIdx.x; k < R; k += blockDim.x) ss += double(vo[k]) * double(vo[k]);
  ss = block_sum(ss);
  if (!(ss > 0)) {
    if (threadIdx.x == 0) atomicMin(first_bad, static_cast<long long>(o));
  }
  const T n = T(sqrt(ss));
  if (threadIdx.x == 0) norms[o] = n;
  const T scale = g[o] / n;
  T* wo = W + o * R;
  for (int64_t k = threadIdx.x; k < R; k += blockDim.x) wo[k] = scale * vo[k];
}

// Block o: s = Σ dW[o] ⊙ v[o] (double), n = norms[o]:  dg[o] = T(s) / n  (dg != nullptr),
// dv[o] = (g[o] / n) · (dW[o] − (T(s) / n²) · v[o])  (dv != nullptr).
template <typename T>
__global__ void backward_kernel(T* dg, T* dv, const T* g, const T* v, const T* norms, const T* dW, int64_t R) {
  const int64_t o = blockIdx.x;
  const T* vo = v + o * R;
  const T* dwo = dW + o * R;
  double s = 0;
  for (int64_t k = threadIdx.x; k < R; k += blockDim.x) s += double(dwo[k]) * double(vo[k]);
  s = block_sum(s);
  const T n = norms[o];
  if (dg != nullptr && threadIdx.x == 0) dg[o] = T(s) / n;
  if (dv != nullptr) {
    const T a = g[o] / n, b = T(s) / (n * n);
    T* dvo = dv + o * R;
    for (int64_t k = threadIdx.x; k < R; k += blockDim.x) dvo[k] = a * (dwo[k] - b * vo[k]);
  }
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

}  // namespace

void weight_norm_forward(const Tensor& g, const Tensor& v, Tensor& norms, Tensor& W) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;  // elements per output channel
  on_float(v.dtype(), op, [&]<typename T>() {
    if (C == 0) return;
    const Context& ctx = context_of(W);
    Tensor first_bad = Tensor::full({1}, double(C), DType::I64, v.device());
    forward_kernel<T><<<unsigned(C), kThreads, 0, ctx.stream>>>(
        norms.data<T>(), W.data<T>(), reinterpret_cast<long long*>(first_bad.data<int64_t>()), g.data<T>(),
        v.data<T>(), R);
    check_launch(op);
    const int64_t o = int64_t(first_bad.item());  // waits for the kernel
    if (o < C) fail(fmt::format("{}: v[{}] has norm 0 (v {}); W would be NaN", op, o, v.describe()));
  });
}

void weight_norm_backward(const Tensor& g, const Tensor& v, const Tensor& norms, const Tensor& dW, Tensor& dg,
                          Tensor& dv) {
  const char* op = "weight_norm";
  const int64_t C = v.size(0);
  const int64_t R = C > 0 ? v.numel() / C : 0;
  const bool need_g = dg.defined(), need_v = dv.defined();
  on_float(v.dtype(), op, [&]<typename T>() {
    if (C == 0 || (!need_g && !need_v)) return;
    const Context& ctx = context_of(v);
    backward_kernel<T><<<unsigned(C), kThreads, 0, ctx.stream>>>(need_g ? dg.data<T>() : nullptr,
                                                                  need_v ? dv.data<T>() : nullptr, g.data<T>(),
                                                                  v.data<T>(), norms.data<T>(), dW.data<T>(), R);
    check_launch(op);
  });
}

WeightNormKernels weight_norm_kernels() { return {.forward = weight_norm_forward, .backward = weight_norm_backward}; }

}  // namespace seqnet::cuda
