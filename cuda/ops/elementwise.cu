// cuda/ops/elementwise.cu — the CUDA elementwise kernels (contract: ops/kernels/elementwise.h;
// the CPU twins: ops/cpu/elementwise.cpp). One thread per output element.
#include <cmath>

#include "cuda/backend.h"
#include "cuda/context.h"
#include "cuda/strided_index.h"

namespace seqnet::cuda {

namespace {

template <typename T>
__device__ inline T apply(BinaryOp op, T x, T y) {
  switch (op) {
    case BinaryOp::Add: return x + y;
    case BinaryOp::Sub: return x - y;
    case BinaryOp::Mul: return x * y;
    case BinaryOp::Div: return x / y;
  }
  return T(0);
}

// out[i] = a[off_a(i)] ∘ b[off_b(i)]; out contiguous (its offset is i).
template <typename T>
__global__ void binary_kernel(BinaryOp op, T* out, const T* a, const T* b, StridedIndex<2> ix, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[2];
  offsets(ix, i, off);
  out[i] = apply(op, a[off[0]], b[off[1]]);
}

template <typename T>
__global__ void scale_shift_kernel(T* out, const T* x, T scale, T shift, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] * scale + shift;
}

template <typename T>
__global__ void unary_forward_kernel(UnaryOp op, T* y, const T* x, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = op == UnaryOp::Exp ? exp(x[i]) : log(x[i]);
}

// exp: dx = dy · y (saved = y);  log: dx = dy / x (saved = x)
template <typename T>
__global__ void unary_backward_kernel(UnaryOp op, T* dx, const T* saved, const T* dy, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dx[i] = op == UnaryOp::Exp ? dy[i] * saved[i] : dy[i] / saved[i];
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

}  // namespace

void elementwise_binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  const Tensor ae = a.expand(out.shape()), be = b.expand(out.shape());
  if (out.dim() > kMaxDims)
    fail(fmt::format("binary: {} has more than {} dimensions", out.describe(), kMaxDims));
  StridedIndex<2> ix;
  ix.dims = out.dim();
  for (int d = 0; d < ix.dims; ++d) {
    ix.shape[d] = out.size(d);
    ix.strides[0][d] = ae.stride(d);
    ix.strides[1][d] = be.stride(d);
  }
  ix = coalesced(ix);
  const Context& ctx = context_of(out);
  on_float(out.dtype(), "binary", [&]<typename T>() {
    binary_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(op, out.data<T>(), a.data<T>(), b.data<T>(), ix, n);
  });
  check_launch("binary");
}

void elementwise_scale_shift(const Tensor& x, double scale, double shift, Tensor& out) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context_of(out);
  on_float(x.dtype(), "scale_shift", [&]<typename T>() {
    scale_shift_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(out.data<T>(), x.data<T>(), T(scale), T(shift),
                                                                       n);
  });
  check_launch("scale_shift");
}

void elementwise_unary_forward(UnaryOp op, const Tensor& x, Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  const Context& ctx = context_of(y);
  on_float(x.dtype(), op == UnaryOp::Exp ? "exp" : "log", [&]<typename T>() {
    unary_forward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(op, y.data<T>(), x.data<T>(), n);
  });
  check_launch(op == UnaryOp::Exp ? "exp" : "log");
}

void elementwise_unary_backward(UnaryOp op, const Tensor& saved, const Tensor& dy, Tensor& dx) {
  const int64_t n = saved.numel();
  if (n == 0) return;
  const Context& ctx = context_of(dx);
  on_float(saved.dtype(), op == UnaryOp::Exp ? "exp backward" : "log backward", [&]<typename T>() {
    unary_backward_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(op, dx.data<T>(), saved.data<T>(),
                                                                          dy.data<T>(), n);
  });
  check_launch(op == UnaryOp::Exp ? "exp backward" : "log backward");
}

ElementwiseKernels elementwise_kernels() {
  return {.binary = elementwise_binary,
          .scale_shift = elementwise_scale_shift,
          .unary_forward = elementwise_unary_forward,
          .unary_backward = elementwise_unary_backward};
}

}  // namespace seqnet::cuda
