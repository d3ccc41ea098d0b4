// ops/cpu/conv.cpp — the CPU conv kernels: one GEMM per kernel tap on shifted views, or one
// im2col GEMM per sample.
//
// The contract (ops/kernels/conv.h) says what forward, backward_input, backward_weight and
// bias_grad compute; this file is how the CPU does it. The prepared weight is W itself where the
// im2col GEMM runs, else a (C_out, K, C_in) copy Wr of W (C_out, C_in, K): Wr[:, m, :] is tap m's
// matrix.
//  * im2col (stride 1, batch 1 or at most 64 input channels, a column buffer of ≤ 2 MiB): the
//    sample's K shifted copies of each input channel stacked into one (C_in·K, T_out) buffer in
//    W's own (c, m) order, then one GEMM with W as (C_out, C_in·K) — no copy of the weight, and
//    the weight gradient lands in dW's layout directly; the input gradient is one GEMM into that
//    buffer, scattered back (col2im).
//  * stride 1 otherwise: tap m is Y[:, lo:hi] += W_m · X[:, lo+d·m−pf : hi+d·m−pf], with
//    W_m = Wr[:, m, :]; a 1×1 conv is one GEMM per sample.
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
// Forward outputs are pre-filled (bias, or zero) and every GEMM accumulates with beta = 1.
// Gradients skip the separate zero fill where one GEMM writes the whole output: the weight
// gradient's first sample per thread, and the input gradient's covering tap (a causal conv's
// last), run with beta = 0 and the rest accumulate. OpenBLAS then clears that GEMM's C itself,
// one sample's slab at a time just before it is written, instead of a whole-tensor memset ahead.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <vector>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {

// Which phases some tap reads (for s > 1).
std::vector<bool> used_phases(const ConvGeom& g) {
  std::vector<bool> u(size_t(g.s), false);
  for (int64_t m = 0; m < g.K; ++m)
    if (auto [lo, hi] = g.valid(m); lo < hi) u[size_t(g.phase(m))] = true;
  return u;
}

// How many OpenMP threads to spread the batch over (1: loop over samples and let BLAS use all
// threads). Each sample's GEMMs then run single-threaded inside BLAS (the OpenMP build of
// OpenBLAS does not nest), which wins when the batch splits evenly over the threads or a
// sample's GEMMs are too small to parallelise well inside BLAS. A whole batch under ~1 MFLOP
// (tens of microseconds) stays on one thread: waking the team would cost more than it saves.
int batch_threads(const ConvGeom& g) {
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  if (nt <= 1 || g.N <= 1 || double(g.N) * g.flops_per_sample() < 1e6) return 1;
  if (g.N % nt == 0 || g.N >= 4 * int64_t(nt) || g.flops_per_sample() < 64e6) return int(std::min<int64_t>(nt, g.N));
  return 1;
}

// How for_each_sample hands samples to threads. Where each sample writes its own output (forward,
// input gradient), the next free thread takes the next sample: on a shared machine one core often
// runs slower than the other, and a fixed half each would leave the faster one waiting. Where the
// threads accumulate into their own buffers (weight gradient), each takes a fixed block of samples,
// so which samples a buffer sums — and so the result's bits — never depend on timing.
enum class Split { kDynamic, kFixed };

// f(n, thread) for every sample n, on `nthreads` OpenMP threads (serially when 1).
template <class F>
void for_each_sample(int64_t N, int nthreads, Split split, F&& f) {
  if (nthreads <= 1) {
    for (int64_t n = 0; n < N; ++n) f(n, 0);
    return;
  }
  if (split == Split::kDynamic) {
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 1)
    for (int64_t n = 0; n < N; ++n) f(n, omp_get_thread_num());
  } else {
#pragma omp parallel for num_threads(nthreads) schedule(static)
    for (int64_t n = 0; n < N; ++n) f(n, omp_get_thread_num());
  }
}

// Wr[o, m, c] = W[o, c, m]: each output channel's weights regrouped tap by tap, so that
//  * W_m = Wr[:, m, :] is a (C_out, C_in) matrix BLAS takes as it is (row stride K·C_in), one per
//    tap for the per-tap GEMMs, and
//  * Wr viewed as (C_out, K·C_in) is the whole kernel as one matrix, for the im2col GEMM.
// (W[:,:,m] itself has column stride K, which BLAS cannot take.) For K = 1 that is W itself.
Tensor taps_inner(const Tensor& W) {
  const int64_t O = W.size(0), C = W.size(1), K = W.size(2);
  const Tensor Wc = W.contiguous();
  if (K == 1) return Wc.view({O, 1, C});
  Tensor Wr = Tensor::empty({O, K, C}, W.dtype());
  dispatch_float(W.dtype(), "conv", [&]<typename T>() {
    const T* pw = Wc.data<T>();
    T* pr = Wr.data<T>();
#pragma omp parallel for if (O * C * K >= 2 * kGrainCheap && !omp_in_parallel()) schedule(static)
    for (int64_t o = 0; o < O; ++o)  // one (C, K) → (K, C) transposition per output channel
      for (int64_t m = 0; m < K; ++m) {
        const T* __restrict src = pw + o * C * K + m;  // W[o, :, m]: stride K
        T* __restrict dst = pr + (o * K + m) * C;      // Wr[o, m, :]: contiguous writes
        for (int64_t c = 0; c < C; ++c) dst[c] = src[c * K];
      }
  });
  return Wr;
}

// The inverse: W[o, c, m] = Wr[o, m, c] (both contiguous; K > 1).
void taps_last(const Tensor& Wr, Tensor& W) {
  const int64_t O = Wr.size(0), K = Wr.size(1), C = Wr.size(2);
  dispatch_float(Wr.dtype(), "conv", [&]<typename T>() {
    const T* pr = Wr.data<T>();
    T* pw = W.data<T>();
#pragma omp parallel for if (O * C * K >= 2 * kGrainCheap && !omp_in_parallel()) schedule(static)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t m = 0; m < K; ++m) pw[(o * C + c) * K + m] = pr[(o * K + m) * C + c];
  });
}

// im2col: col[c·K + m, t] = x[c, t + d·m − pf] for t in [0, T_out), zero where that sample is
// outside [0, T) (stride 1). One (C_in·K, T_out) buffer, so a conv is one GEMM with W itself
// viewed as (C_out, C_in·K): its rows are in this (c, m) order already, so no copy of W is made.
template <typename T>
void fill_columns(const Tensor& x, Tensor& col, const ConvGeom& g) {
  const T* px = x.data<T>();
  T* pc = col.data<T>();
  const int64_t xs_c = x.stride(0), xs_t = x.stride(1), L = g.T_out;
  for (int64_t c = 0; c < g.C_in; ++c) {
    const T* src = px + c * xs_c;
    for (int64_t m = 0; m < g.K; ++m) {
      const auto [lo, hi] = g.valid(m);
      const int64_t off = g.off(m);
      T* row = pc + (c * g.K + m) * L;
      std::fill(row, row + lo, T(0));
      if (hi > lo && xs_t == 1)  // (hi > lo: no pointer is formed outside x for a tap in padding)
        std::copy(src + (lo + off), src + (hi + off), row + lo);
      else
        for (int64_t t = lo; t < hi; ++t) row[t] = src[(t + off) * xs_t];
      std::fill(row + hi, row + L, T(0));
    }
  }
}

// col2im: dx[c, t + d·m − pf] += col[c·K + m, t] for the valid t (stride 1); dx contiguous.
template <typename T>
void add_columns(const Tensor& col, T* dx, const ConvGeom& g) {
  const T* pc = col.data<T>();
  const int64_t L = g.T_out;
  for (int64_t c = 0; c < g.C_in; ++c) {
    T* dst = dx + c * g.T;  // dst[t + off] for valid t only (off may be negative)
    for (int64_t m = 0; m < g.K; ++m) {
      const auto [lo, hi] = g.valid(m);
      const int64_t off = g.off(m);
      const T* row = pc + (c * g.K + m) * L;
      for (int64_t t = lo; t < hi; ++t) dst[t + off] += row[t];
    }
  }
}

// Whether a conv runs as one im2col GEMM per sample rather than K per-tap GEMMs: stride 1, more
// than one tap, and a column buffer (K·C_in·T_out values per thread) of at most 2 MiB. The copy
// costs K·C_in·T_out per sample, against a GEMM of C_out times that many multiply-adds, and the
// one GEMM (inner dimension K·C_in instead of C_in) runs closer to the BLAS peak than K small
// ones; the size cap keeps the buffer in cache and the step's peak memory where it was (long
// raw-audio inputs keep the per-tap GEMMs). SEQNET_CONV_IM2COL=0 keeps the per-tap GEMMs always.
bool use_im2col(const ConvGeom& g, DType dtype) {
  static const bool enabled = [] {
    const char* e = std::getenv("SEQNET_CONV_IM2COL");
    return !(e && e[0] == '0');
  }();
  const double bytes = double(g.K) * double(g.C_in) * double(g.T_out) * double(dtype_size(dtype));
  // Measured (docs/performance.md): a few percent faster on the batch-1 music convs (215
  // channels) and on copy memory's 10-channel ones; slower on char_sequnet's batch-16, 450-channel
  // convs, whose per-tap GEMMs are already large. Hence batch 1 or narrow inputs only.
  return enabled && g.s == 1 && g.K > 1 && bytes <= double(2 << 20) && (g.N == 1 || g.C_in <= 64);
}

// Per-thread scratch for the phases of one sample: (s, C_in, ceil(T/s)); none for stride 1.
std::vector<Tensor> phase_buffers(const ConvGeom& g, int nthreads, DType dtype) {
  std::vector<Tensor> bufs(static_cast<size_t>(nthreads));
  if (g.s > 1)
    for (auto& b : bufs) b = Tensor::empty({g.s, g.C_in, g.phase_len()}, dtype);
  return bufs;
}

// The phases of one sample x (C_in, T), as a (s, C_in, ≥ ceil(T/s)) tensor: x itself for
// stride 1, else buf[p, c, j] = x[c, s·j + p] for the used phases (any strides of x).
template <typename T>
Tensor split_phases(const Tensor& x, Tensor& buf, const ConvGeom& g, const std::vector<bool>& used, bool parallel) {
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
void add_phases(const Tensor& buf, T* dx, const ConvGeom& g, const std::vector<bool>& used, bool parallel) {
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

// y[n, c, :] = b[c] for a contiguous (N, C, T) tensor y (b undefined: zeros).
void fill_with_bias(Tensor& y, const Tensor& b) {
  if (!b.defined()) {
    y.fill_(0.0);
    return;
  }
  const Tensor bc = b.contiguous();
  const int64_t rows = y.size(0) * y.size(1), C = y.size(1), len = y.size(2);
  dispatch_float(y.dtype(), "conv", [&]<typename T>() {
    T* py = y.data<T>();
    const T* pb = bc.data<T>();
#pragma omp parallel for if (rows * len >= 2 * kGrainCheap) schedule(static)
    for (int64_t r = 0; r < rows; ++r) std::fill(py + r * len, py + (r + 1) * len, pb[r % C]);
  });
}

// db[c] = Σ_{n,t} dy[n, c, t]   (dy contiguous (N, C, T))
// One float sum per channel, left to right over n and t: vectorising it (lane partial sums) was
// tried: it took bias_grad from 1.3 % to 0.6 % of a char_tcn step, but its other rounding sent the
// Overfit.SequnetResCopyBatch trajectory (Adam at lr 1e-2, chaotic) over a loss spike; kept as is.
// A single running sum waits on each add's latency, so channels go in groups of kChains: each
// channel keeps its own accumulator and its own order (the result is bitwise the one-channel
// loop's), and the group's kChains independent sums overlap (one chain per channel was 4 % of an
// audio_wavenet step).
void bias_grad(const Tensor& dy_any, Tensor& db) {
  const Tensor dy = dy_any.contiguous();
  const int64_t N = dy.size(0), C = dy.size(1), len = dy.size(2);
  constexpr int64_t kChains = 8;
  const int64_t groups = (C + kChains - 1) / kChains;
  dispatch_float(dy.dtype(), "conv", [&]<typename T>() {
    const T* p = dy.data<T>();
    T* out = db.data<T>();
#pragma omp parallel for if (N * C * len >= 2 * kGrainCheap && !omp_in_parallel()) \
    schedule(static)  // per channel group
    for (int64_t gi = 0; gi < groups; ++gi) {
      const int64_t c0 = gi * kChains;
      if (c0 + kChains <= C) {
        T acc[kChains] = {};
        for (int64_t n = 0; n < N; ++n) {
          const T* rows = p + (n * C + c0) * len;
          for (int64_t t = 0; t < len; ++t)
            for (int64_t j = 0; j < kChains; ++j) acc[j] += rows[j * len + t];
        }
        for (int64_t j = 0; j < kChains; ++j) out[c0 + j] = acc[j];
        continue;
      }
      for (int64_t c = c0; c < C; ++c) {
        T acc = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* row = p + (n * C + c) * len;
          for (int64_t t = 0; t < len; ++t) acc += row[t];
        }
        out[c] = acc;
      }
    }
  });
}

// ---- the GEMM loops -------------------------------------------------------------------------
// X and dY may be any views whose per-sample (C, T) matrices BLAS takes as they are (unit
// stride along T or along C); Y and dX are contiguous and pre-filled.

// Y += conv(X, W):  per tap, Y[:, lo:hi] += W_m · X_phase(m)[:, lo+shift(m) : hi+shift(m)]   (Wk = taps_inner(W))
void forward_taps(const Tensor& X, const Tensor& Wk, Tensor& Y, const ConvGeom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> bufs = phase_buffers(g, nt, X.dtype());
  const std::vector<bool> used = used_phases(g);
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kDynamic, [&](int64_t n, int tid) {
      const Tensor Xp = split_phases<T>(X.select(0, n), bufs[size_t(tid)], g, used, nt == 1);
      Tensor Yn = Y.select(0, n);
      for (int64_t m = 0; m < g.K; ++m) {
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor Ys = Yn.narrow(1, lo, hi - lo);
        gemm(Wk.select(1, m), false, Xp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo), false, Ys,
                      1.0, 1.0);
      }
    });
  });
}

// The stride-1 tap whose GEMM writes every column of dX — valid over all T_out outputs and reading
// inputs [0, T) exactly (a causal conv's last tap: off = 0, T_out = T) — or −1 if none.
int64_t covering_tap(const ConvGeom& g) {
  if (g.s != 1 || g.T_out != g.T) return -1;
  for (int64_t m = 0; m < g.K; ++m)
    if (g.valid(m) == std::pair<int64_t, int64_t>{0, g.T_out} && g.off(m) == 0) return m;
  return -1;
}

// dX += convᵀ(dY, W):  per tap, dX_phase(m)[:, lo+shift(m) : hi+shift(m)] += W_mᵀ · dY[:, lo:hi]
// (stride 1: straight into dX; else into zeroed phase buffers, then interleaved into dX).
// first ≥ 0 (covering_tap, dX not pre-filled): that tap runs first with β = 0 and writes all of
// dX, the others then accumulate.
void backward_input_taps(const Tensor& dY, const Tensor& Wk, Tensor& dX, const ConvGeom& g, int64_t first) {
  const int nt = batch_threads(g);
  std::vector<Tensor> bufs = phase_buffers(g, nt, dY.dtype());
  const std::vector<bool> used = used_phases(g);
  dispatch_float(dY.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kDynamic, [&](int64_t n, int tid) {
      const Tensor dYn = dY.select(0, n);
      Tensor dXn = dX.select(0, n);
      Tensor dXp = g.s == 1 ? dXn.unsqueeze(0) : bufs[size_t(tid)];
      if (g.s > 1) dXp.fill_(0.0);
      for (int64_t i = 0; i < g.K; ++i) {
        const int64_t m = first < 0 ? i : i == 0 ? first : i <= first ? i - 1 : i;  // `first`, then the rest in order
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor dXs = dXp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo);
        gemm(Wk.select(1, m), true, dYn.narrow(1, lo, hi - lo), false, dXs, 1.0, m == first ? 0.0 : 1.0);
      }
      if (g.s > 1) add_phases<T>(dXp, dXn.data<T>(), g, used, nt == 1);
    });
  });
}

// dW[:,:,m] = Σ_n dY[n][:, lo:hi] · X_phase(m)[n][:, lo+shift(m) : hi+shift(m)]ᵀ
// With a batch spread over threads, each thread accumulates into its own buffer.
// dWk (C_out, K, C_in) contiguous: the first accumulator. Where every tap has valid columns, a
// thread's first sample writes its accumulator with β = 0 (no zero fill first); a tap lying wholly
// in the padding writes nothing, so then the accumulators are zeroed instead.
void backward_weight_taps(const Tensor& dY, const Tensor& X, Tensor& dWk, const ConvGeom& g) {
  const int nt = batch_threads(g);
  bool every_tap = true;
  for (int64_t m = 0; m < g.K; ++m) every_tap = every_tap && g.valid(m).first < g.valid(m).second;
  std::vector<Tensor> acc(static_cast<size_t>(nt));
  std::vector<char> started(static_cast<size_t>(nt), every_tap ? 0 : 1);  // 1: accumulate from zeros
  acc[0] = dWk;
  if (!every_tap) dWk.fill_(0.0);
  for (size_t i = 1; i < acc.size(); ++i)
    acc[i] = every_tap ? Tensor::empty({g.C_out, g.K, g.C_in}, dY.dtype())
                       : Tensor::zeros({g.C_out, g.K, g.C_in}, dY.dtype());
  std::vector<Tensor> bufs = phase_buffers(g, nt, X.dtype());
  const std::vector<bool> used = used_phases(g);
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kFixed, [&](int64_t n, int tid) {
      const Tensor dYn = dY.select(0, n);
      const Tensor Xp = split_phases<T>(X.select(0, n), bufs[size_t(tid)], g, used, nt == 1);
      const double beta = started[size_t(tid)] ? 1.0 : 0.0;
      for (int64_t m = 0; m < g.K; ++m) {
        const auto [lo, hi] = g.valid(m);
        if (lo == hi) continue;
        Tensor dWm = acc[size_t(tid)].select(1, m);
        gemm(dYn.narrow(1, lo, hi - lo), false, Xp.select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo), true, dWm,
             1.0, beta);
      }
      started[size_t(tid)] = 1;
    });
  });
  if (!started[0]) dWk.fill_(0.0);  // (N = 0: no sample ran)
  for (int i = 1; i < nt; ++i)
    if (started[size_t(i)]) acc[0].add_(acc[size_t(i)]);
}

// ---- the im2col loops (stride 1) ----------------------------------------------------------------
// Per sample: col = im2col(X_n) (C_in·K, T_out), then one GEMM with W as (C_out, C_in·K).

// One (C_in·K, T_out) column buffer per thread.
std::vector<Tensor> column_buffers(const ConvGeom& g, int nthreads, DType dtype) {
  std::vector<Tensor> cols(static_cast<size_t>(nthreads));
  for (auto& c : cols) c = Tensor::empty({g.C_in * g.K, g.T_out}, dtype);
  return cols;
}

// Y_n += W · col
void forward_im2col(const Tensor& X, const Tensor& W, Tensor& Y, const ConvGeom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> cols = column_buffers(g, nt, X.dtype());
  const Tensor W2 = W.view({g.C_out, g.C_in * g.K});
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kDynamic, [&](int64_t n, int tid) {
      Tensor& col = cols[size_t(tid)];
      fill_columns<T>(X.select(0, n), col, g);
      Tensor Yn = Y.select(0, n);
      gemm(W2, false, col, false, Yn, 1.0, 1.0);
    });
  });
}

// col = Wᵀ · dY_n, then dX_n += col2im(col)
void backward_input_im2col(const Tensor& dY, const Tensor& W, Tensor& dX, const ConvGeom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> cols = column_buffers(g, nt, dY.dtype());
  const Tensor W2 = W.view({g.C_out, g.C_in * g.K});
  dispatch_float(dY.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kDynamic, [&](int64_t n, int tid) {
      Tensor& col = cols[size_t(tid)];
      gemm(W2, true, dY.select(0, n), false, col, 1.0, 0.0);
      add_columns<T>(col, dX.select(0, n).data<T>(), g);
    });
  });
}

// dW (C_out, C_in·K) = Σ_n dY_n · colᵀ, straight into dW's own layout; with a batch spread over
// threads, one accumulator each.
void backward_weight_im2col(const Tensor& dY, const Tensor& X, Tensor& dW, const ConvGeom& g) {
  const int nt = batch_threads(g);
  std::vector<Tensor> acc(static_cast<size_t>(nt)), cols = column_buffers(g, nt, X.dtype());
  dW.fill_(0.0);
  acc[0] = dW.view({g.C_out, g.C_in * g.K});
  for (size_t i = 1; i < acc.size(); ++i) acc[i] = Tensor::zeros({g.C_out, g.C_in * g.K}, dY.dtype());
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    for_each_sample(g.N, nt, Split::kFixed, [&](int64_t n, int tid) {
      Tensor& col = cols[size_t(tid)];
      fill_columns<T>(X.select(0, n), col, g);
      gemm(dY.select(0, n), false, col, true, acc[size_t(tid)], 1.0, 1.0);
    });
  });
  for (int i = 1; i < nt; ++i) acc[0].add_(acc[size_t(i)]);
}

}  // namespace

// ---- the contract --------------------------------------------------------------------------------

// The CPU's prepared weight: W itself (contiguous) where the im2col GEMM runs — its rows are the
// columns' (c, m) order — else the copy Wr[o, m, c] = W[o, c, m] the per-tap GEMMs read (W
// itself for K = 1).
Tensor conv_prepare_weight(const Tensor& W, const ConvGeom& g) {
  return use_im2col(g, W.dtype()) ? W.contiguous() : taps_inner(W);
}

void conv_forward(const Tensor& X, const Tensor& Wp, const Tensor& b, Tensor& Y, const ConvGeom& g) {
  fill_with_bias(Y, b);
  if (use_im2col(g, X.dtype()))
    forward_im2col(X, Wp, Y, g);
  else
    forward_taps(X, Wp, Y, g);
}

// Without a bias (the ordinary conv's input gradient) the per-tap path skips the zero fill where
// one tap covers all of dX: that tap's GEMM writes it with β = 0.
void conv_backward_input(const Tensor& dY, const Tensor& Wp, const Tensor& b, Tensor& dX, const ConvGeom& g) {
  if (use_im2col(g, dY.dtype())) {
    fill_with_bias(dX, b);
    backward_input_im2col(dY, Wp, dX, g);
    return;
  }
  const int64_t first = b.defined() ? -1 : covering_tap(g);
  if (first < 0) fill_with_bias(dX, b);
  backward_input_taps(dY, Wp, dX, g, first);
}

// im2col: straight into dW. Per tap: accumulated as (C_out, K, C_in), then laid out as
// (C_out, C_in, K); for K = 1 the two layouts coincide and the GEMMs accumulate into dW itself.
void conv_backward_weight(const Tensor& dY, const Tensor& X, Tensor& dW, const ConvGeom& g) {
  if (use_im2col(g, dY.dtype())) {
    backward_weight_im2col(dY, X, dW, g);
    return;
  }
  if (g.K == 1) {
    Tensor dWr = dW.view({g.C_out, 1, g.C_in});
    backward_weight_taps(dY, X, dWr, g);
    return;
  }
  Tensor dWr = Tensor::empty({g.C_out, g.K, g.C_in}, dW.dtype());
  backward_weight_taps(dY, X, dWr, g);
  taps_last(dWr, dW);
}

void conv_bias_grad(const Tensor& dY, Tensor& db) { bias_grad(dY, db); }

ConvKernels conv_kernels() {
  return {.prepare_weight = conv_prepare_weight,
          .forward = conv_forward,
          .backward_input = conv_backward_input,
          .backward_weight = conv_backward_weight,
          .bias_grad = conv_bias_grad};
}

}  // namespace seqnet::cpu
