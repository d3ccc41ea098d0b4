// ops/conv.cpp — conv1d and conv_transpose1d: three GEMM kernels shared by both ops.
//
// Every convolution here is described by the geometry of one conv1d (Geom): input X (N, C_in, T),
// weight W (C_out, C_in, K), output Y (N, C_out, T_out), stride s, dilation d, front padding pf.
// Three kernels cover forward and backward of both ops:
//   conv_forward         Y  += conv(X, W)              y[o,t]       += Σ_{c,m} W[o,c,m] · x[c, s·t + d·m − pf]
//   conv_backward_input  dX += convᵀ(dY, W)            dx[c,s·t+d·m−pf] += Σ_o W[o,c,m] · dy[o,t]
//   conv_backward_weight dW  = Σ_n corr(dY, X)         dW[o,c,m]    = Σ_{n,t} dy[o,t] · x[c, s·t + d·m − pf]
// conv_transpose1d(x, w, stride s) is exactly conv_backward_input of the conv1d with weight w
// (C_in_t plays C_out, C_out_t plays C_in), stride s, input length s·(L−1)+K, output length L;
// so its forward is conv_backward_input, its input gradient conv_forward and its weight
// gradient conv_backward_weight with the roles of x and dy swapped.
//
// Kernel strategy: one GEMM per tap on shifted views, never an im2col buffer.
//  * stride 1: tap m is Y[:, lo:hi] += W_m · X[:, lo+d·m−pf : hi+d·m−pf], with W_m = W[:,:,m]
//    taken from a (K, C_out, C_in) copy of the (small) weight; a 1×1 conv is one GEMM per sample.
//  * stride s > 1 (polyphase): X is split once into its s phases X_p[:, j] = X[:, s·j + p] (one
//    copy of the input, against K/s copies for im2col). Output column t of tap m reads
//    X[:, s·t + off] = X_p[:, t + q] with off = d·m − pf = q·s + p, so every tap is again one
//    GEMM on a shifted view, now of phase p. The input gradient is accumulated per phase the
//    same way and interleaved back; conv_transpose1d's forward is exactly this.
//  * padding: each tap's GEMM is restricted to the output columns [lo, hi) whose input sample
//    exists, instead of building a zero-padded copy of x. Padded samples contribute zero, so
//    skipping them is exact; it saves a copy of the whole input per call (and per backward)
//    and its memory; only the edge taps lose a few columns.
//  * batches: samples cannot share one GEMM in the (N, C, T) layout (the (n, t) columns do not
//    form one strided axis), so a batch is a loop of per-sample GEMMs, spread over OpenMP
//    threads when that beats multi-threaded BLAS (batch_threads).
// Outputs are pre-filled (bias, or zero) and every GEMM accumulates with beta = 1; OpenBLAS
// would run the same pass over C itself for beta = 0.
#include "ops/conv.h"

#include <omp.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "ops/blas.h"
#include "ops/dispatch.h"

namespace seqnet {

namespace {

struct Geom {
  int64_t N = 0, C_in = 0, T = 0, C_out = 0, K = 0, T_out = 0;
  int64_t s = 1, d = 1, pf = 0;

  // Input index of output column t for tap m is s·t + off(m) = s·(t + shift(m)) + phase(m).
  int64_t off(int64_t m) const { return d * m - pf; }
  int64_t phase(int64_t m) const { return ((off(m) % s) + s) % s; }
  int64_t shift(int64_t m) const { return (off(m) - phase(m)) / s; }
  // Length of the longest phase (phase 0): ceil(T / s).
  int64_t phase_len() const { return (T + s - 1) / s; }
  // Output columns [lo, hi) of tap m whose input sample lies inside [0, T) (lo <= hi <= T_out).
  std::pair<int64_t, int64_t> valid(int64_t m) const {
    const int64_t o = off(m);
    const int64_t lo = std::min(T_out, o >= 0 ? int64_t(0) : (-o + s - 1) / s);
    const int64_t hi = (T - 1 - o) < 0 ? int64_t(0) : std::min(T_out, (T - 1 - o) / s + 1);
    return {lo, std::max(lo, hi)};
  }
  // Which phases some tap reads (for s > 1).
  std::vector<bool> used_phases() const {
    std::vector<bool> u(size_t(s), false);
    for (int64_t m = 0; m < K; ++m)
      if (auto [lo, hi] = valid(m); lo < hi) u[size_t(phase(m))] = true;
    return u;
  }
  double flops_per_sample() const { return 2.0 * double(C_out) * double(C_in) * double(K) * double(T_out); }
};

// How many OpenMP threads to spread the batch over (1: loop over samples and let BLAS use all
// threads). Each sample's GEMMs then run single-threaded inside BLAS (the OpenMP build of
// OpenBLAS does not nest), which wins when the batch splits evenly over the threads or a
// sample's GEMMs are too small to parallelise well inside BLAS. A whole batch under ~1 MFLOP
// (tens of microseconds) stays on one thread: waking the team would cost more than it saves.
int batch_threads(const Geom& g) {
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt <= 1 || g.N <= 1 || double(g.N) * g.flops_per_sample() < 1e6) return 1;
  if (g.N % nt == 0 || g.N >= 4 * int64_t(nt) || g.flops_per_sample() < 64e6) return int(std::min<int64_t>(nt, g.N));
  return 1;
}

// f(n, thread) for every sample n, on `nthreads` OpenMP threads (serially when 1).
template <class F>
void for_each_sample(int64_t N, int nthreads, F&& f) {
  if (nthreads <= 1) {
    for (int64_t n = 0; n < N; ++n) f(n, 0);
    return;
  }
#pragma omp parallel for num_threads(nthreads) schedule(static)
  for (int64_t n = 0; n < N; ++n) f(n, omp_get_thread_num());
}

// Wk[m, o, c] = W[o, c, m]: the weight as K contiguous (C_out, C_in) matrices (W[:,:,m] itself
// has column stride K, which BLAS cannot take). For K = 1 that is W itself.
Tensor taps_major(const Tensor& W) {
  const int64_t O = W.size(0), C = W.size(1), K = W.size(2);
  const Tensor Wc = W.contiguous();
  if (K == 1) return Wc.view({1, O, C});
  Tensor Wk = Tensor::empty({K, O, C}, W.dtype());
  dispatch_float(W.dtype(), "conv", [&]<typename T>() {
    const T* pw = Wc.data<T>();
    T* pk = Wk.data<T>();
    for (int64_t o = 0; o < O; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t m = 0; m < K; ++m) pk[(m * O + o) * C + c] = pw[(o * C + c) * K + m];
  });
  return Wk;
}

// The inverse: W[o, c, m] = Wk[m, o, c] (Wk contiguous).
Tensor taps_last(const Tensor& Wk) {
  const int64_t K = Wk.size(0), O = Wk.size(1), C = Wk.size(2);
  if (K == 1) return Wk.view({O, C, 1});
  Tensor W = Tensor::empty({O, C, K}, Wk.dtype());
  dispatch_float(Wk.dtype(), "conv", [&]<typename T>() {
    const T* pk = Wk.data<T>();
    T* pw = W.data<T>();
    for (int64_t o = 0; o < O; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t m = 0; m < K; ++m) pw[(o * C + c) * K + m] = pk[(m * O + o) * C + c];
  });
  return W;
}

// Per-thread scratch for the phases of one sample: (s, C_in, ceil(T/s)); none for stride 1.
std::vector<Tensor> phase_buffers(const Geom& g, int nthreads, DType dtype) {
  std::vector<Tensor> bufs(static_cast<size_t>(nthreads));
  if (g.s > 1)
    for (auto& b : bufs) b = Tensor::empty({g.s, g.C_in, g.phase_len()}, dtype);
  return bufs;
}

// The phases of one sample x (C_in, T), as a (s, C_in, ≥ ceil(T/s)) tensor: x itself for
// stride 1, else buf[p, c, j] = x[c, s·j + p] for the used phases (any strides of x).
template <typename T>
Tensor split_phases(const Tensor& x, Tensor& buf, const Geom& g, const std::vector<bool>& used, bool parallel) {
  if (g.s == 1) return x.unsqueeze(0);
  const T* px = x.data<T>();
  T* pb = buf.data<T>();
  const int64_t xs_c = x.stride(0), xs_t = x.stride(1), L = g.phase_len(), step = g.s * xs_t;
#pragma omp parallel for if (parallel && g.C_in * g.T > (1 << 15)) schedule(static)
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t p = 0; p < g.s; ++p) {
      if (!used[size_t(p)]) continue;
      const T* src = px + c * xs_c + p * xs_t;
      T* dst = pb + (p * g.C_in + c) * L;
      const int64_t n = (g.T - p + g.s - 1) / g.s;
      for (int64_t j = 0; j < n; ++j) dst[j] = src[j * step];
    }
  return buf;
}

// dx[c, s·j + p] += buf[p, c, j] for the used phases; dx: one contiguous sample (C_in, T).
template <typename T>
void add_phases(const Tensor& buf, T* dx, const Geom& g, const std::vector<bool>& used, bool parallel) {
  const T* pb = buf.data<T>();
  const int64_t L = g.phase_len();
#pragma omp parallel for if (parallel && g.C_in * g.T > (1 << 15)) schedule(static)
  for (int64_t c = 0; c < g.C_in; ++c)
    for (int64_t p = 0; p < g.s; ++p) {
      if (!used[size_t(p)]) continue;
      const T* src = pb + (p * g.C_in + c) * L;
      T* dst = dx + c * g.T + p;
      const int64_t n = (g.T - p + g.s - 1) / g.s;
      for (int64_t j = 0; j < n; ++j) dst[j * g.s] += src[j];
    }
}

// A fresh contiguous (N, C, T) tensor with y[n, c, :] = b[c] (b undefined: zeros).
Tensor filled_with_bias(const Shape& shape, DType dtype, const Tensor& b) {
  if (!b.defined()) return Tensor::zeros(shape, dtype);
  Tensor y = Tensor::empty(shape, dtype);
  Tensor bc = b.contiguous();
  const int64_t rows = shape[0] * shape[1], C = shape[1], len = shape[2];
  dispatch_float(dtype, "conv", [&]<typename T>() {
    T* py = y.data<T>();
    const T* pb = bc.data<T>();
#pragma omp parallel for if (rows * len > (1 << 16)) schedule(static)
    for (int64_t r = 0; r < rows; ++r) std::fill(py + r * len, py + (r + 1) * len, pb[r % C]);
  });
  return y;
}

// db[c] = Σ_{n,t} dy[n, c, t]   (dy contiguous (N, C, T))
Tensor bias_grad(const Tensor& dy) {
  const int64_t N = dy.size(0), C = dy.size(1), len = dy.size(2);
  Tensor db = Tensor::empty({C}, dy.dtype());
  dispatch_float(dy.dtype(), "conv", [&]<typename T>() {
    const T* p = dy.data<T>();
    T* out = db.data<T>();
#pragma omp parallel for if (N * C * len > (1 << 16)) schedule(static)
    for (int64_t c = 0; c < C; ++c) {
      T acc = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* row = p + (n * C + c) * len;
        for (int64_t t = 0; t < len; ++t) acc += row[t];
      }
      out[c] = acc;
    }
  });
  return db;
}

// ---- the three kernels -------------------------------------------------------------------------
// X and dY may be any views whose per-sample (C, T) matrices BLAS takes as they are (unit
// stride along T or along C); Y and dX are contiguous and pre-filled.

// Y += conv(X, W):  per tap, Y[:, lo:hi] += W_m · X_phase(m)[:, lo+shift(m) : hi+shift(m)]   (Wk = taps_major(W))
void conv_forward(const Tensor& X, const Tensor& Wk, Tensor& Y, const Geom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> bufs = phase_buffers(g, nt, X.dtype());
  const std::vector<bool> used = g.used_phases();
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, [&](int64_t n, int tid) {
      const Tensor Xp = split_phases<T>(X.select(0, n), bufs[size_t(tid)], g, used, nt == 1);
      Tensor Yn = Y.select(0, n);
      for (int64_t m = 0; m < g.K; ++m) {
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor Ys = Yn.narrow(1, lo, hi - lo);
        kernels::gemm(Wk.select(0, m), false, Xp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo), false, Ys,
                      1.0, 1.0);
      }
    });
  });
}

// dX += convᵀ(dY, W):  per tap, dX_phase(m)[:, lo+shift(m) : hi+shift(m)] += W_mᵀ · dY[:, lo:hi]
// (stride 1: straight into dX; else into zeroed phase buffers, then interleaved into dX).
void conv_backward_input(const Tensor& dY, const Tensor& Wk, Tensor& dX, const Geom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> bufs = phase_buffers(g, nt, dY.dtype());
  const std::vector<bool> used = g.used_phases();
  dispatch_float(dY.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, [&](int64_t n, int tid) {
      const Tensor dYn = dY.select(0, n);
      Tensor dXn = dX.select(0, n);
      Tensor dXp = g.s == 1 ? dXn.unsqueeze(0) : bufs[size_t(tid)];
      if (g.s > 1) dXp.fill_(0.0);
      for (int64_t m = 0; m < g.K; ++m) {
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor dXs = dXp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo);
        kernels::gemm(Wk.select(0, m), true, dYn.narrow(1, lo, hi - lo), false, dXs, 1.0, 1.0);
      }
      if (g.s > 1) add_phases<T>(dXp, dXn.data<T>(), g, used, nt == 1);
    });
  });
}

// dW[:,:,m] = Σ_n dY[n][:, lo:hi] · X_phase(m)[n][:, lo+shift(m) : hi+shift(m)]ᵀ
// With a batch spread over threads, each thread accumulates into its own buffer.
Tensor conv_backward_weight(const Tensor& dY, const Tensor& X, const Geom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> acc(static_cast<size_t>(nt));
  for (auto& a : acc) a = Tensor::zeros({g.K, g.C_out, g.C_in}, dY.dtype());
  std::vector<Tensor> bufs = phase_buffers(g, nt, X.dtype());
  const std::vector<bool> used = g.used_phases();
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, [&](int64_t n, int tid) {
      const Tensor dYn = dY.select(0, n);
      const Tensor Xp = split_phases<T>(X.select(0, n), bufs[size_t(tid)], g, used, nt == 1);
      for (int64_t m = 0; m < g.K; ++m) {
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor dWm = acc[size_t(tid)].select(0, m);
        kernels::gemm(dYn.narrow(1, lo, hi - lo), false, Xp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo),
                      true, dWm, 1.0, 1.0);
      }
    });
  });
  for (int i = 1; i < nt; ++i) acc[0].add_(acc[size_t(i)]);
  return taps_last(acc[0]);
}

// BLAS takes a per-sample (C, T) view as is when its rows or its columns are contiguous;
// anything else (e.g. a time slice with a step) is made contiguous once here, not per GEMM.
Tensor blas_friendly(const Tensor& x) {
  if (x.stride(2) == 1 || x.stride(1) == 1 || x.numel() == 0) return x;
  return x.contiguous();
}

// Argument errors. check() would format its message arguments (describe() builds strings) on
// every call, and these ops run thousands of times per generated sample, so messages are
// formatted only on failure.
#define CONV_CHECK(cond, ...)                              \
  do {                                                     \
    if (!(cond)) ::seqnet::fail(fmt::format(__VA_ARGS__)); \
  } while (0)

// Checks shared by both ops; the bias must have w.size(bias_dim) entries.
void check_operands(const char* op, const Variable& x, const Variable& w, const Variable& b, const char* w_layout,
                    int bias_dim) {
  CONV_CHECK(x.defined() && w.defined(), "{}: input or weight is undefined", op);
  const Tensor& X = x.data();
  const Tensor& W = w.data();
  CONV_CHECK(is_floating(X.dtype()), "{}: expected a floating input (f32 or f64), got {}", op, X.describe());
  if (X.dtype() != W.dtype()) check_same_dtype(X, W, op);
  if (!X.device().is_cpu()) check_cpu(X, op);
  if (!W.device().is_cpu()) check_cpu(W, op);
  CONV_CHECK(X.dim() == 3, "{}: input must be 3-D (N, C_in, T), got {}", op, X.describe());
  CONV_CHECK(W.dim() == 3, "{}: weight must be 3-D {}, got {}", op, w_layout, W.describe());
  CONV_CHECK(W.size(2) >= 1, "{}: weight {} has an empty kernel (K = 0)", op, W.describe());
  if (b.defined()) {
    const Tensor& B = b.data();
    const int64_t c_out = W.size(bias_dim);
    CONV_CHECK(B.dtype() == X.dtype(), "{}: bias {} does not match the dtype of input {}", op, B.describe(),
               X.describe());
    CONV_CHECK(B.dim() == 1 && B.size(0) == c_out, "{}: bias {} does not match weight {} (expected bias [{}])", op,
               B.describe(), W.describe(), c_out);
    if (!B.device().is_cpu()) check_cpu(B, op);
  }
}

}  // namespace

// y = b + conv(x, w):  dx = convᵀ(dy, w),  dw[o,c,m] = Σ_{n,t} dy[n,o,t]·xpad[n,c,s·t+d·m],  db = Σ_{n,t} dy
Variable conv1d(const Variable& x, const Variable& w, const Variable& b, int64_t stride, int64_t dilation,
                int64_t pad_front, int64_t pad_back) {
  check_operands("conv1d", x, w, b, "(C_out, C_in, K)", 0);
  const Tensor& W = w.data();
  const Tensor X = blas_friendly(x.data());
  CONV_CHECK(stride >= 1, "conv1d: stride must be >= 1, got {} (input {}, weight {})", stride, X.describe(),
             W.describe());
  CONV_CHECK(dilation >= 1, "conv1d: dilation must be >= 1, got {} (input {}, weight {})", dilation, X.describe(),
             W.describe());
  CONV_CHECK(pad_front >= 0 && pad_back >= 0, "conv1d: padding must be >= 0, got front {} back {} (input {})",
             pad_front, pad_back, X.describe());
  CONV_CHECK(X.size(1) == W.size(1), "conv1d: input {} has {} channels but weight {} expects C_in = {}", X.describe(),
             X.size(1), W.describe(), W.size(1));
  Geom g;
  g.N = X.size(0), g.C_in = X.size(1), g.T = X.size(2), g.C_out = W.size(0), g.K = W.size(2);
  g.s = stride, g.d = dilation, g.pf = pad_front;
  const int64_t span = dilation * (g.K - 1) + 1;
  if (pad_front + pad_back == 0)
    CONV_CHECK(g.T >= span, "conv1d: input {} is shorter than the dilated kernel (K={}, dilation={} → {} samples)",
               X.describe(), g.K, dilation, span);
  else
    CONV_CHECK(g.T + pad_front + pad_back >= span,
               "conv1d: input {} padded by {}+{} is shorter than the dilated kernel (K={}, dilation={} → {} samples)",
               X.describe(), pad_front, pad_back, g.K, dilation, span);
  g.T_out = conv1d_out_len(g.T, g.K, stride, dilation, pad_front, pad_back);

  const Tensor Wk = taps_major(W);  // also saved for the input gradient
  Tensor Y = filled_with_bias({g.N, g.C_out, g.T_out}, X.dtype(), b.defined() ? b.data() : Tensor());
  conv_forward(X, Wk, Y, g);

  const bool has_bias = b.defined();
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = has_bias && b.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result("conv1d", Y, inputs, [=](const Tensor& grad) {
    const Tensor dY = grad.contiguous();
    Tensor gx, gw, gb;
    if (need_x) {
      gx = Tensor::zeros(X.shape(), X.dtype());
      conv_backward_input(dY, Wk, gx, g);
    }
    if (need_w) gw = conv_backward_weight(dY, X, g);
    if (need_b) gb = bias_grad(dY);
    std::vector<Tensor> out{gx, gw};
    if (has_bias) out.push_back(gb);
    return out;
  });
}

// y[n,o,s·i+m] = b[o] + Σ_c w[c,o,m]·x[n,c,i]  (= conv1dᵀ):
//   dx = conv1d(dy, w, stride s),  dw[c,o,m] = Σ_{n,i} x[n,c,i]·dy[n,o,s·i+m],  db = Σ_{n,t} dy
Variable conv_transpose1d(const Variable& x, const Variable& w, const Variable& b, int64_t stride) {
  check_operands("conv_transpose1d", x, w, b, "(C_in, C_out, K)", 1);
  const Tensor& W = w.data();
  const Tensor X = blas_friendly(x.data());
  CONV_CHECK(stride >= 1, "conv_transpose1d: stride must be >= 1, got {} (input {}, weight {})", stride, X.describe(),
             W.describe());
  CONV_CHECK(X.size(1) == W.size(0), "conv_transpose1d: input {} has {} channels but weight {} expects C_in = {}",
             X.describe(), X.size(1), W.describe(), W.size(0));
  CONV_CHECK(X.size(2) >= 1, "conv_transpose1d: input {} is empty along time (need L >= 1)", X.describe());
  // The conv1d whose input gradient this op is: it maps (N, C_out_t, T_out) to (N, C_in_t, L).
  Geom g;
  g.N = X.size(0), g.C_out = W.size(0), g.C_in = W.size(1), g.K = W.size(2), g.T_out = X.size(2);
  g.s = stride, g.d = 1, g.pf = 0;
  g.T = stride * (g.T_out - 1) + g.K;

  const Tensor Wk = taps_major(W);  // also saved for the input gradient
  Tensor Y = filled_with_bias({g.N, g.C_in, g.T}, X.dtype(), b.defined() ? b.data() : Tensor());
  conv_backward_input(X, Wk, Y, g);

  const bool has_bias = b.defined();
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = has_bias && b.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result("conv_transpose1d", Y, inputs, [=](const Tensor& grad) {
    const Tensor dY = grad.contiguous();
    Tensor gx, gw, gb;
    if (need_x) {
      gx = Tensor::zeros(X.shape(), X.dtype());
      conv_forward(dY, Wk, gx, g);
    }
    if (need_w) gw = conv_backward_weight(X, dY, g);
    if (need_b) gb = bias_grad(dY);
    std::vector<Tensor> out{gx, gw};
    if (has_bias) out.push_back(gb);
    return out;
  });
}

#undef CONV_CHECK

}  // namespace seqnet
