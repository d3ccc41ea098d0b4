// cuda/ops/loss.cu — the CUDA loss kernels (contract: ops/kernels/loss.h; the CPU twins:
// ops/cpu/loss.cpp).
//
// Softmax-like kernels run one thread per row (position) of the (outer, C, inner) view and do the
// CPU's arithmetic in the CPU's order along the row (max, Σ exp, then the outputs). With inner > 1
// (the class axis is not the last one) neighbouring threads read neighbouring addresses.
// Cross-entropy over long contiguous rows (inner = 1, C ≥ 128: a word model's 10 000 classes)
// takes one block per row instead, its sums combined in a fixed tree (within rounding of the CPU).
//
// Value checks (cross-entropy's mask and targets, one_hot's ids) run first in one block whose
// threads each scan a strided share of the positions and combine the first bad position (and
// the count of weighted positions) in a fixed-order shared-memory tree; the host copies the result
// back and throws the CPU's message for the first bad position before anything is written.
// Sums over positions (cross-entropy Sum / Mean, BCE Sum / Mean) are in double, deterministic:
// a fixed grid of blocks each sums a fixed strided subset in order and reduces it in a fixed
// shared-memory tree, then one block reduces the per-block partials the same way. No atomics.
// The summation order differs from the CPU's serial loop (names in the report; within tolerance).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "cuda/backend.h"
#include "cuda/block_reduce.cuh"
#include "cuda/context.h"
#include "cuda/ops/loss_index.h"
#include "cuda/round_nearest.cuh"

namespace seqnet::cuda {

namespace {

// ---- deterministic reductions ------------------------------------------------------------------

constexpr int kReduceThreads = kThreads;  // block_sum (cuda/block_reduce.cuh) reduces kThreads threads
constexpr int kMaxReduceBlocks = 1024;

// partial[b] = Σ term(i) over i = b·kReduceThreads + t + k·gridDim·kReduceThreads (fixed order).
template <class Term>
__global__ void partial_sums_kernel(Term term, int64_t n, double* partial) {
  __shared__ double sh[kReduceThreads];
  double acc = 0;
  const int64_t step = int64_t(gridDim.x) * kReduceThreads;
  for (int64_t i = int64_t(blockIdx.x) * kReduceThreads + threadIdx.x; i < n; i += step) acc += term(i);
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = s;
}

// One block: total = Σ partial[0 .. nb), then finish(total).
template <class Finish>
__global__ void finish_sum_kernel(const double* partial, int nb, Finish finish) {
  __shared__ double sh[kReduceThreads];
  double acc = 0;
  for (int i = int(threadIdx.x); i < nb; i += kReduceThreads) acc += partial[i];
  const double s = block_sum(acc, sh);
  if (threadIdx.x == 0) finish(s);
}

// finish(Σ_{i < n} term(i)) on the stream of `like`'s device; the grid depends only on n, so a
// rerun adds in the same order.
template <class Term, class Finish>
void deterministic_sum(const char* op, const Tensor& like, int64_t n, Term term, Finish finish) {
  const int nb = int(std::clamp<int64_t>((n + kReduceThreads - 1) / kReduceThreads, 1, kMaxReduceBlocks));
  const Tensor partial = Tensor::empty({nb}, DType::F64, like.device());
  const Context& ctx = context_of(like);
  partial_sums_kernel<<<nb, kReduceThreads, 0, ctx.stream>>>(term, n, partial.data<double>());
  check_launch(op);
  finish_sum_kernel<<<1, kReduceThreads, 0, ctx.stream>>>(partial.data<double>(), nb, finish);
  check_launch(op);
}

// One block: res[0] = min over threads of bad[t] (n when none), res[1] = Σ count[t].
__device__ inline void block_first_bad_and_count(int64_t bad, int64_t count, int64_t* res) {
  __shared__ int64_t sb[kReduceThreads], sc[kReduceThreads];
  sb[threadIdx.x] = bad;
  sc[threadIdx.x] = count;
  __syncthreads();
  for (int s = kReduceThreads / 2; s > 0; s >>= 1) {
    if (int(threadIdx.x) < s) {
      sb[threadIdx.x] = min(sb[threadIdx.x], sb[threadIdx.x + s]);
      sc[threadIdx.x] += sc[threadIdx.x + s];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    res[0] = sb[0];
    res[1] = sc[0];
  }
}

// ---- softmax / log_softmax --------------------------------------------------------------------

template <typename T>
__device__ inline T row_max(const T* xr, int64_t C, int64_t inner) {
  T m = xr[0];
  for (int64_t c = 1; c < C; ++c) {
    const T v = xr[c * inner];
    m = m < v ? v : m;  // std::max(m, v)
  }
  return m;
}

// y = exp(x − m) / Σ exp(x − m)   (m = max of the row; log: y = x − m − log Σ exp(x − m))
template <typename T>
__device__ inline void softmax_row(T* yr, const T* xr, int64_t C, int64_t inner, bool take_log) {
  const T m = row_max(xr, C, inner);
  T s = 0;
  for (int64_t c = 0; c < C; ++c) s += exp(xr[c * inner] - m);
  if (take_log) {
    const T lse = m + log(s);
    for (int64_t c = 0; c < C; ++c) yr[c * inner] = xr[c * inner] - lse;
  } else {
    for (int64_t c = 0; c < C; ++c) yr[c * inner] = exp(xr[c * inner] - m) / s;
  }
}

template <typename T>
__global__ void softmax_forward_kernel(T* y, const T* x, SoftmaxRows R, bool take_log) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= R.outer * R.inner) return;
  const int64_t base = softmax_row_base(r, R);
  softmax_row(y + base, x + base, R.C, R.inner, take_log);
}

// softmax: dx = y ⊙ (dy − Σ dy⊙y);  log_softmax: dx = dy − exp(y) · Σ dy
template <typename T>
__global__ void softmax_backward_kernel(T* dx, const T* y, const T* dy, SoftmaxRows R, bool take_log) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= R.outer * R.inner) return;
  const int64_t base = softmax_row_base(r, R);
  const T* yr = y + base;
  const T* gr = dy + base;
  T* dr = dx + base;
  T s = 0;
  for (int64_t c = 0; c < R.C; ++c) s += take_log ? gr[c * R.inner] : gr[c * R.inner] * yr[c * R.inner];
  for (int64_t c = 0; c < R.C; ++c) {
    const int64_t k = c * R.inner;
    dr[k] = take_log ? gr[k] - exp(yr[k]) * s : yr[k] * (gr[k] - s);
  }
}

// ---- cross-entropy ------------------------------------------------------------------------------

// One block. A position p is bad when w_p ∉ {0, 1}, or w_p = 1 and t_p ∉ [0, C) (the CPU's checks,
// in its order). res[0] = the first bad position (npos when none), res[1] = #{p : w_p = 1}.
template <typename T>
__global__ void ce_check_kernel(const T* w, const int64_t* t, int64_t npos, int64_t C, int64_t* res) {
  int64_t bad = npos, count = 0;
  for (int64_t p = threadIdx.x; p < npos; p += kReduceThreads) {
    const T wp = w[p];
    const bool mask_ok = wp == T(0) || wp == T(1);
    const bool target_ok = wp == T(0) || (t[p] >= 0 && t[p] < C);
    if ((!mask_ok || !target_ok) && bad == npos) bad = p;  // p grows: the thread's first is its least
    count += wp == T(1) ? 1 : 0;
  }
  block_first_bad_and_count(bad, count, res);
}

// One thread per position p: probs := softmax of the row (T, as softmax_forward); where w_p ≠ 0,
// loss_p = m + log Σ_c exp(double(x_c − m)) − x_t in double (0 where w_p = 0), stored to lp
// (Sum / Mean) or rounded to out (None).
template <typename T>
__global__ void ce_forward_kernel(const T* x, const int64_t* t, const T* w, T* probs, double* lp, T* out_none,
                                  SoftmaxRows R) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= R.outer * R.inner) return;
  double loss = 0;
  if (R.C > 0) {
    const int64_t base = softmax_row_base(p, R);
    const T* xr = x + base;
    softmax_row(probs + base, xr, R.C, R.inner, false);
    if (w[p] != T(0)) {
      const T m = row_max(xr, R.C, R.inner);
      double s = 0;
      for (int64_t c = 0; c < R.C; ++c) s += exp(double(xr[c * R.inner] - m));
      loss = double(m) + log(s) - double(xr[t[p] * R.inner]);
    }
  }
  if (lp) lp[p] = loss;
  if (out_none) out_none[p] = T(loss);
}

// Rows at least this long (with the class axis last, inner = 1) take one block per row instead of
// one thread: a word model's 10 000 classes made one thread walk 50 000 values 5 times over.
constexpr int64_t kRowBlockMinC = 128;

// ce_forward_kernel with one block per position p (inner = 1: the row is contiguous): the row's
// max, Σ exp(x − m) in T's rounding per term (for probs) and in double (for the loss), each summed
// in double over a strided share per thread and combined in a fixed tree; then the probs. The
// order of the sums differs from the CPU's serial loop (within rounding).
template <typename T>
__global__ void ce_forward_rows_kernel(const T* x, const int64_t* t, const T* w, T* probs, double* lp, T* out_none,
                                       int64_t C) {
  __shared__ double sh[kThreads];
  const int64_t p = blockIdx.x;
  const T* xr = x + p * C;
  T* pr = probs + p * C;
  double mx = -INFINITY;
  for (int64_t c = threadIdx.x; c < C; c += kThreads) mx = fmax(mx, double(xr[c]));
  const T m = T(block_max(mx, sh));
  double st = 0, sd = 0;
  for (int64_t c = threadIdx.x; c < C; c += kThreads) {
    st += double(exp(xr[c] - m));
    sd += exp(double(xr[c] - m));
  }
  const T s = T(block_sum(st, sh));
  const double sum_d = block_sum(sd, sh);
  for (int64_t c = threadIdx.x; c < C; c += kThreads) pr[c] = exp(xr[c] - m) / s;
  if (threadIdx.x == 0) {
    const double loss = w[p] != T(0) ? double(m) + log(sum_d) - double(xr[t[p]]) : 0.0;
    if (lp) lp[p] = loss;
    if (out_none) out_none[p] = T(loss);
  }
}

struct DoubleArrayTerm {
  const double* v;
  __device__ double operator()(int64_t i) const { return v[i]; }
};

// out[0] = Σ loss_p (Sum) or Σ loss_p / count (Mean; 0 when count = 0)
template <typename T>
struct CeFinish {
  T* out;
  bool mean;
  double count;
  __device__ void operator()(double total) const {
    out[0] = T(mean ? (count > 0 ? total / count : 0.0) : total);
  }
};

//   dx_c = s_p · w · (probs_c − [c == t])      s_p = dy (Sum), dy / count (Mean), dy_p (None)
template <typename T>
__global__ void ce_backward_kernel(const T* probs, const int64_t* t, const T* w, const T* g, T* dx, SoftmaxRows R,
                                   Reduction red, double count) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= R.outer * R.inner) return;
  const int64_t base = softmax_row_base(p, R);
  T s = red == Reduction::None ? g[p] : red == Reduction::Sum ? g[0] : (count > 0 ? g[0] / T(count) : T(0));
  s *= w[p];
  for (int64_t c = 0; c < R.C; ++c) dx[base + c * R.inner] = mul_rn(s, probs[base + c * R.inner]);
  if (w[p] != T(0)) dx[base + t[p] * R.inner] -= s;
}

// ce_backward_kernel with one block per position p (inner = 1): the same arithmetic per element
// (s · probs_c, minus s at the target), spread over the block's threads. mul_rn keeps nvcc from
// fusing s · probs_c − s into one FMA at the target, which would round once where the CPU and
// the kernel above round twice.
template <typename T>
__global__ void ce_backward_rows_kernel(const T* probs, const int64_t* t, const T* w, const T* g, T* dx, int64_t C,
                                        Reduction red, double count) {
  const int64_t p = blockIdx.x;
  T s = red == Reduction::None ? g[p] : red == Reduction::Sum ? g[0] : (count > 0 ? g[0] / T(count) : T(0));
  s *= w[p];
  const int64_t target = w[p] != T(0) ? t[p] : -1;
  const T* pr = probs + p * C;
  T* dr = dx + p * C;
  for (int64_t c = threadIdx.x; c < C; c += kThreads) {
    const T v = mul_rn(s, pr[c]);
    dr[c] = c == target ? v - s : v;
  }
}

// ---- binary cross-entropy with logits ------------------------------------------------------------

// l = max(x, 0) − x·y + log(1 + exp(−|x|));   dx = s · (σ(x) − y),   dy = −s · x
template <typename T>
__device__ inline T bce_value(T x, T y) {
  return (x < T(0) ? T(0) : x) - x * y + log1p(exp(-fabs(x)));
}
template <typename T>
__device__ inline T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

template <typename T>
__global__ void bce_forward_none_kernel(T* out, const T* x, const T* y, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) out[i] = bce_value(x[i], y[i]);
}

template <typename T>
struct BceTerm {
  const T* x;
  const T* y;
  __device__ double operator()(int64_t i) const { return double(bce_value(x[i], y[i])); }
};

// out[0] = Σ l (Sum) or Σ l / n (Mean; 0 when n = 0)
template <typename T>
struct BceFinish {
  T* out;
  bool mean;
  int64_t n;
  __device__ void operator()(double total) const {
    out[0] = T(mean ? (n > 0 ? total / double(n) : 0.0) : total);
  }
};

template <typename T>
__global__ void bce_backward_kernel(const T* x, const T* y, const T* g, T* dx, T* dy, Reduction red, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const T s = red == Reduction::None ? g[i] : red == Reduction::Mean ? g[0] / T(n) : g[0];  // n > 0 here
  if (dx) dx[i] = s * (stable_sigmoid(x[i]) - y[i]);
  if (dy) dy[i] = -s * x[i];
}

// ---- one_hot -------------------------------------------------------------------------------------

// One block: res[0] = the first k with ids[k] ∉ [0, C) (n when none).
__global__ void first_bad_id_kernel(const int64_t* ids, int64_t n, int64_t C, int64_t* res) {
  int64_t bad = n;
  for (int64_t k = threadIdx.x; k < n; k += kReduceThreads) {
    if (ids[k] < 0 || ids[k] >= C) {
      bad = k;  // k grows: the thread's first is its least
      break;
    }
  }
  block_first_bad_and_count(bad, 0, res);
}

template <typename T>
__global__ void one_hot_kernel(T* out, const int64_t* ids, int64_t n, int64_t C, int64_t B) {
  const int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k < n) out[one_hot_offset(k, ids[k], C, B)] = T(1);
}

// f.template operator()<T>() for f32 / f64; an Error naming `op` otherwise.
template <class F>
void on_float(DType t, const char* op, F&& f) {
  if (t == DType::F32) return f.template operator()<float>();
  if (t == DType::F64) return f.template operator()<double>();
  fail(fmt::format("{}: expected a floating tensor (f32 or f64), got {}", op, dtype_name(t)));
}

// Element k of a contiguous tensor with numel n, copied to the host.
template <typename T>
T element_at(const Tensor& t, int64_t n, int64_t k) {
  return t.reshape({n}).narrow(0, k, 1).to_vector<T>()[0];
}

}  // namespace

// ---- the contract --------------------------------------------------------------------------------

void loss_softmax_forward(const Tensor& x, Tensor& y, const SoftmaxRows& R, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const int64_t nrows = R.outer * R.inner;
  on_float(x.dtype(), name, [&]<typename T>() {
    if (nrows == 0 || R.C == 0) return;
    softmax_forward_kernel<T><<<blocks_for(nrows), kThreads, 0, context_of(y).stream>>>(y.data<T>(), x.data<T>(), R,
                                                                                         log);
    check_launch(name);
  });
}

void loss_softmax_backward(const Tensor& y, const Tensor& dy, Tensor& dx, const SoftmaxRows& R, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const int64_t nrows = R.outer * R.inner;
  on_float(y.dtype(), name, [&]<typename T>() {
    if (nrows == 0 || R.C == 0) return;
    softmax_backward_kernel<T><<<blocks_for(nrows), kThreads, 0, context_of(dx).stream>>>(
        dx.data<T>(), y.data<T>(), dy.data<T>(), R, log);
    check_launch(name);
  });
}

// Per position p = (o, i) with target t and weight w (mask value, 1 without a mask):
//   loss_p = w · (log Σ_c exp(x_c) − x_t)
double loss_cross_entropy_forward(const Tensor& x, const Tensor& t, const Tensor& w, Tensor& probs, Tensor& out,
                                  const SoftmaxRows& R, Reduction red, const char* mask_desc) {
  const char* op = "cross_entropy";
  const int64_t npos = R.outer * R.inner;
  double count = 0;

  on_float(x.dtype(), op, [&]<typename T>() {
    const Context& ctx = context_of(x);
    // Argument checks first; the error names the first bad position, as on the CPU.
    if (npos > 0) {
      const Tensor res = Tensor::empty({2}, DType::I64, x.device());
      ce_check_kernel<T><<<1, kReduceThreads, 0, ctx.stream>>>(w.data<T>(), t.data<int64_t>(), npos, R.C,
                                                               res.data<int64_t>());
      check_launch(op);
      const std::vector<int64_t> r = res.to_vector<int64_t>();  // waits for the stream
      if (r[0] < npos) {
        const int64_t p = r[0];
        const double wp = double(element_at<T>(w, npos, p));
        const std::string mask_str(mask_desc ? mask_desc : "");
        check(wp == 0.0 || wp == 1.0, "{}: mask must hold only 0 and 1, got {} at position {} (mask {})", op, wp, p,
              mask_str);
        const int64_t tp = element_at<int64_t>(t, npos, p);
        fail(fmt::format("{}: target {} at position {} is out of range for {} classes (logits {})", op, tp, p, R.C,
                         x.describe()));
      }
      count = double(r[1]);
    }
    const bool none = red == Reduction::None;
    const Tensor lp = none ? Tensor() : Tensor::empty({npos}, DType::F64, x.device());
    if (npos > 0 && R.inner == 1 && R.C >= kRowBlockMinC) {
      ce_forward_rows_kernel<T><<<unsigned(npos), kThreads, 0, ctx.stream>>>(
          x.data<T>(), t.data<int64_t>(), w.data<T>(), probs.data<T>(), none ? nullptr : lp.data<double>(),
          none ? out.data<T>() : nullptr, R.C);
      check_launch(op);
    } else if (npos > 0) {
      ce_forward_kernel<T><<<blocks_for(npos), kThreads, 0, ctx.stream>>>(
          x.data<T>(), t.data<int64_t>(), w.data<T>(), probs.data<T>(), none ? nullptr : lp.data<double>(),
          none ? out.data<T>() : nullptr, R);
      check_launch(op);
    }
    if (!none)
      deterministic_sum(op, x, npos, DoubleArrayTerm{npos > 0 ? lp.data<double>() : nullptr},
                        CeFinish<T>{out.data<T>(), red == Reduction::Mean, count});
  });
  return count;
}

//   dx_c = s_p · w · (softmax(x)_c − [c == t])      s_p = dL/dloss_p: dy (Sum), dy / Σw (Mean), dy_p (None)
void loss_cross_entropy_backward(const Tensor& probs, const Tensor& t, const Tensor& w, const Tensor& gc, Tensor& dx,
                                 const SoftmaxRows& R, Reduction red, double count) {
  const int64_t npos = R.outer * R.inner;
  on_float(probs.dtype(), "cross_entropy", [&]<typename T>() {
    if (npos == 0) return;
    if (R.inner == 1 && R.C >= kRowBlockMinC)
      ce_backward_rows_kernel<T><<<unsigned(npos), kThreads, 0, context_of(dx).stream>>>(
          probs.data<T>(), t.data<int64_t>(), w.data<T>(), gc.data<T>(), dx.data<T>(), R.C, red, count);
    else
      ce_backward_kernel<T><<<blocks_for(npos), kThreads, 0, context_of(dx).stream>>>(
          probs.data<T>(), t.data<int64_t>(), w.data<T>(), gc.data<T>(), dx.data<T>(), R, red, count);
    check_launch("cross_entropy backward");
  });
}

void loss_bce_forward(const Tensor& X, const Tensor& Y, Tensor& out, Reduction red) {
  const char* op = "bce_with_logits";
  const int64_t n = X.numel();
  on_float(X.dtype(), op, [&]<typename T>() {
    if (red == Reduction::None) {
      if (n == 0) return;
      bce_forward_none_kernel<T><<<blocks_for(n), kThreads, 0, context_of(out).stream>>>(out.data<T>(), X.data<T>(),
                                                                                          Y.data<T>(), n);
      check_launch(op);
    } else {
      deterministic_sum(op, X, n, BceTerm<T>{X.data<T>(), Y.data<T>()},
                        BceFinish<T>{out.data<T>(), red == Reduction::Mean, n});
    }
  });
}

void loss_bce_backward(const Tensor& X, const Tensor& Y, const Tensor& gc, Tensor& dx, Tensor& dy, Reduction red) {
  const int64_t n = X.numel();
  const bool need_x = dx.defined(), need_y = dy.defined();
  on_float(X.dtype(), "bce_with_logits", [&]<typename T>() {
    if (n == 0 || (!need_x && !need_y)) return;
    bce_backward_kernel<T><<<blocks_for(n), kThreads, 0, context_of(X).stream>>>(
        X.data<T>(), Y.data<T>(), gc.data<T>(), need_x ? dx.data<T>() : nullptr, need_y ? dy.data<T>() : nullptr,
        red, n);
    check_launch("bce_with_logits backward");
  });
}

// out[(a·C + id)·B + b] = 1 for ids viewed as (A, B); the class axis sits between A and B.
void loss_one_hot(const char* op, const Tensor& id, Tensor& out, int64_t C, int64_t B) {
  const int64_t n = id.numel();
  if (n == 0) return;
  const Context& ctx = context_of(out);
  const Tensor res = Tensor::empty({2}, DType::I64, id.device());
  first_bad_id_kernel<<<1, kReduceThreads, 0, ctx.stream>>>(id.data<int64_t>(), n, C, res.data<int64_t>());
  check_launch(op);
  const int64_t k = res.to_vector<int64_t>()[0];  // waits for the stream
  if (k < n)
    fail(fmt::format("{}: id {} at position {} is out of range for {} classes (ids {})", op,
                     element_at<int64_t>(id, n, k), k, C, id.describe()));
  auto fill = [&]<typename T>() {
    one_hot_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(out.data<T>(), id.data<int64_t>(), n, C, B);
  };
  if (out.dtype() == DType::F32) fill.template operator()<float>();
  else if (out.dtype() == DType::F64) fill.template operator()<double>();
  else fill.template operator()<int64_t>();
  check_launch(op);
}

LossKernels loss_kernels() {
  return {.softmax_forward = loss_softmax_forward,
          .softmax_backward = loss_softmax_backward,
          .cross_entropy_forward = loss_cross_entropy_forward,
          .cross_entropy_backward = loss_cross_entropy_backward,
          .bce_forward = loss_bce_forward,
          .bce_backward = loss_bce_backward,
          .one_hot = loss_one_hot};
}

}  // namespace seqnet::cuda
