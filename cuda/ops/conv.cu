// cuda/ops/conv.cu — the CUDA conv kernels (contract: ops/kernels/conv.h; the CPU twin:
// ops/cpu/conv.cpp, whose algorithm this is, GEMM for GEMM).
//  * weights: prepare_weight makes the taps-major copy Wk[m, o, c] = W[o, c, m] (a transposition
//    kernel; W itself viewed (1, O, C) for K = 1), so each tap is a contiguous (C_out, C_in) matrix.
//  * every tap is one cuBLAS gemm (seqnet::cuda::gemm) on shifted views, restricted to the output
//    columns [lo, hi) whose input sample exists: padding and dilation cost no copy.
//  * stride s > 1 (polyphase): a sample is split by a kernel into its s phases
//    buf[p, c, j] = x[c, s·j + p] (only the phases some tap reads), and every tap reads a shifted
//    view of one phase; the input gradient is accumulated per phase into zeroed buffers and
//    interleaved back by a gather kernel (each dX element written by one thread, no atomics).
//  * batches: one strided-batched GEMM per tap over all samples (cublasGemmStridedBatchedEx): the
//    per-sample views of one tap are equally spaced, by X's sample stride or by the whole-batch
//    phase buffer's. backward_weight's sum over samples: each sample's product goes to its own
//    slice of a workspace (chunks of at most 64 MiB), then one kernel adds the slices in sample
//    order (no atomics). A view without a unit stride falls back to a loop of GEMMs.
//  * bias_grad: one block per channel, a fixed-order shared-memory tree reduction (deterministic).
// Outputs are pre-filled with the bias, or zero, and the GEMMs accumulate with beta = 1, as on the
// CPU — except where no bias is added and one tap's product covers the whole output
// (forward_covering_tap, input_covering_tap: the unshifted tap of a causal conv): that tap runs
// first with beta = 0 and the fill is skipped (a write pass of the output fewer, and the first GEMM
// does not read it; the taps are then summed covering tap first, an order other than the CPU's —
// within the twins' tolerance, and as deterministic). backward_weight's first chunk of samples
// writes its tap rather than adding to zeros (the same bits).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda/backend.h"
#include "cuda/context.h"
#include "cuda/ops/conv_index.h"
#include "ops/dispatch.h"

namespace seqnet::cuda {

namespace {

// ---- kernels ---------------------------------------------------------------------------------

// wk[i] = w[taps_major_source(i)]: Wk (K, O, C) from W (O, C, K), both contiguous.
template <typename T>
__global__ void taps_major_kernel(T* wk, const T* w, int64_t O, int64_t C, int64_t K, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) wk[i] = w[taps_major_source(i, O, C, K)];
}

// w[i] = wk[taps_last_source(i)]: W (O, C, K) from Wk (K, O, C), both contiguous.
template <typename T>
__global__ void taps_last_kernel(T* w, const T* wk, int64_t O, int64_t C, int64_t K, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) w[i] = wk[taps_last_source(i, O, C, K)];
}

// y[r, t] = b[r mod C] for y contiguous (N·C rows of length len); n = N·C·len.
template <typename T>
__global__ void bias_fill_kernel(T* y, const T* b, int64_t C, int64_t len, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) y[i] = b[(i / len) % C];
}

// buf[n, p, c, j] = x[n, c, s·j + p] for the used phases p of every sample of x (N, C, T) with
// strides (xs_n, xs_c, xs_t); buf (N, s, C, L) contiguous. Columns past the sample's end are
// zeroed (never read).
template <typename T>
__global__ void split_phases_kernel(T* buf, const T* x, int64_t xs_n, int64_t xs_c, int64_t xs_t, int64_t C,
                                    int64_t len, int64_t s, int64_t L, PhaseMask mask, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int64_t j = i % L, r = i / L;
  const int64_t c = r % C, q = r / C;
  const int64_t p = q % s, b = q / s;
  if (!mask.has(p)) return;
  const int64_t t = phase_column(s, p, j);
  buf[i] = t < len ? x[b * xs_n + c * xs_c + t * xs_t] : T(0);
}

// dx[n, c, t] += buf[n, p, c, j] with t = s·j + p, for the used phases; dx contiguous (N, C, T),
// buf (N, s, C, L) contiguous. One thread per dx element (a gather).
template <typename T>
__global__ void add_phases_kernel(T* dx, const T* buf, int64_t C, int64_t len, int64_t s, int64_t L, PhaseMask mask,
                                  int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int64_t t = i % len, r = i / len;
  const int64_t c = r % C, b = r / C;
  const PhaseCoord pc = phase_coord(t, s);
  if (mask.has(pc.p)) dx[i] += buf[((b * s + pc.p) * C + c) * L + pc.j];
}

// out[i] (+)= Σ_{b < nb} parts[b·len + i], b in order (the per-sample weight-gradient products of
// backward_weight, reduced in a fixed order: no atomics, a rerun is bitwise identical); out is
// read only when `accumulate` (else the sum starts at 0, as from a zeroed out).
template <typename T>
__global__ void add_parts_kernel(T* out, const T* parts, int64_t nb, int64_t len, bool accumulate) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= len) return;
  T acc = accumulate ? out[i] : T(0);
  for (int64_t b = 0; b < nb; ++b) acc += parts[b * len + i];
  out[i] = acc;
}

// db[c] = Σ_{n,t} dy[n, c, t]: block c; each thread sums its columns t ≡ threadIdx.x (mod
// blockDim.x) sample by sample, then a fixed-order tree over the block (blockDim.x == kThreads).
template <typename T>
__global__ void bias_grad_kernel(T* db, const T* dy, int64_t N, int64_t len, int64_t sn, int64_t sc, int64_t st) {
  __shared__ T part[kThreads];
  const int64_t c = blockIdx.x;
  T acc = 0;
  for (int64_t n = 0; n < N; ++n) {
    const T* row = dy + n * sn + c * sc;
    for (int64_t t = threadIdx.x; t < len; t += blockDim.x) acc += row[t * st];
  }
  part[threadIdx.x] = acc;
  __syncthreads();
  for (unsigned w = blockDim.x / 2; w > 0; w >>= 1) {
    if (threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) db[c] = part[0];
}

// ---- launchers -------------------------------------------------------------------------------

// y[n, c, :] = b[c] for a contiguous (N, C, T) tensor y (b undefined: zeros).
void fill_with_bias(Tensor& y, const Tensor& b) {
  if (!b.defined()) {
    y.fill_(0.0);
    return;
  }
  const int64_t n = y.numel();
  if (n == 0) return;
  const Tensor bc = b.contiguous();
  const Context& ctx = context_of(y);
  dispatch_float(y.dtype(), "conv", [&]<typename T>() {
    bias_fill_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(y.data<T>(), bc.data<T>(), y.size(1), y.size(2),
                                                                     n);
  });
  check_launch("conv");
}

// W[o, c, m] = Wk[m, o, c] (both contiguous; K > 1).
void taps_last(const Tensor& Wk, Tensor& W) {
  const int64_t K = Wk.size(0), O = Wk.size(1), C = Wk.size(2), n = Wk.numel();
  if (n == 0) return;
  const Context& ctx = context_of(W);
  dispatch_float(Wk.dtype(), "conv", [&]<typename T>() {
    taps_last_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(W.data<T>(), Wk.data<T>(), O, C, K, n);
  });
  check_launch("conv");
}

// The phases of every sample of X (N, C_in, T) as an (N, s, C_in, ≥ ceil(T/s)) tensor: X itself
// (unsqueezed) for stride 1, else one kernel fills buf[n, p, c, j] = X[n, c, s·j + p] for the
// used phases (any strides of X).
template <typename T>
Tensor split_phases(const Tensor& X, const ConvGeom& g, const PhaseMask& mask) {
  if (g.s == 1) return X.unsqueeze(1);
  Tensor buf = Tensor::empty({g.N, g.s, g.C_in, g.phase_len()}, X.dtype(), X.device());
  const int64_t n = buf.numel();
  if (n == 0 || !mask.any()) return buf;
  const Context& ctx = context_of(buf);
  split_phases_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(
      buf.data<T>(), X.data<T>(), X.stride(0), X.stride(1), X.stride(2), g.C_in, g.T, g.s, g.phase_len(), mask, n);
  check_launch("conv1d");
  return buf;
}

// dX[n, c, s·j + p] += buf[n, p, c, j] for the used phases; dX contiguous (N, C_in, T).
template <typename T>
void add_phases(const Tensor& buf, Tensor& dX, const ConvGeom& g, const PhaseMask& mask) {
  const int64_t n = g.N * g.C_in * g.T;
  if (n == 0 || !mask.any()) return;
  const Context& ctx = context_of(dX);
  add_phases_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(dX.data<T>(), buf.data<T>(), g.C_in, g.T, g.s,
                                                                   g.phase_len(), mask, n);
  check_launch("conv1d");
}

// The three GEMM operands of one sample: C_n := A_n · B_n + beta · C_n (A_n, B_n, C_n views).
struct SampleGemm {
  Tensor A, B, C;
};

// For every sample n < N: one strided-batched GEMM when item(n)'s views are item(0)'s shifted by
// n·(sa, sb, sc) elements (they are, for the loops below) and A, B have a unit stride; else a loop
// of GEMMs over item(n).
template <typename Item>
void gemm_per_sample(Item item, int64_t sa, bool ta, int64_t sb, bool tb, int64_t sc, int64_t N, double beta) {
  SampleGemm g0 = item(0);
  if (gemm_strided_batched(g0.A, sa, ta, g0.B, sb, tb, g0.C, sc, N, 1.0, beta)) return;
  for (int64_t n = 0; n < N; ++n) {
    SampleGemm gn = item(n);
    gemm(gn.A, ta, gn.B, tb, gn.C, 1.0, beta);
  }
}

// ---- the GEMM loops: one batched GEMM per tap over all samples (X and dY: any views; Y and dX
// contiguous and pre-filled) -------------------------------------------------------------------

// The taps in the order the GEMM loops run them: `first` (a covering tap, or -1) before the others.
std::vector<int64_t> tap_order(int64_t K, int64_t first) {
  std::vector<int64_t> order;
  if (first >= 0) order.push_back(first);
  for (int64_t m = 0; m < K; ++m)
    if (m != first) order.push_back(m);
  return order;
}

// Y += conv(X, W): per tap, for every sample, Y[:, lo:hi] += W_m · X_phase(m)[:, lo+shift(m) : hi+shift(m)].
// Tap `first` (forward_covering_tap, or -1), if any, runs first and overwrites Y (beta = 0).
void forward_taps(const Tensor& X, const Tensor& Wk, Tensor& Y, const ConvGeom& g, int64_t first) {
  if (g.N == 0) return;
  const PhaseMask mask = used_phase_mask(g);
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    const Tensor Xp = split_phases<T>(X, g, mask);
    for (const int64_t m : tap_order(g.K, first)) {
      const auto [lo, hi] = g.valid(m);
      if (lo == hi) continue;
      const auto item = [&, lo = lo, hi = hi](int64_t n) {
        return SampleGemm{Wk.select(0, m), Xp.select(0, n).select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo),
                          Y.select(0, n).narrow(1, lo, hi - lo)};
      };
      gemm_per_sample(item, 0, false, Xp.stride(0), false, Y.stride(0), g.N, m == first ? 0.0 : 1.0);
    }
  });
}

// dX += convᵀ(dY, W): per tap, for every sample, dX_phase(m)[:, lo+shift(m) : hi+shift(m)] += W_mᵀ · dY[:, lo:hi]
// (stride 1: straight into dX; else into a zeroed whole-batch phase buffer, then interleaved into dX).
// Tap `first` (input_covering_tap, or -1; stride 1 only), if any, runs first and overwrites dX.
void backward_input_taps(const Tensor& dY, const Tensor& Wk, Tensor& dX, const ConvGeom& g, int64_t first) {
  if (g.N == 0) return;
  const PhaseMask mask = used_phase_mask(g);
  if (g.s > 1 && !mask.any()) return;  // no tap reaches the input: dX keeps its bias
  dispatch_float(dY.dtype(), "conv1d", [&]<typename T>() {
    Tensor dXp = dX.unsqueeze(1);
    if (g.s > 1) dXp = Tensor::zeros({g.N, g.s, g.C_in, g.phase_len()}, dY.dtype(), dY.device());
    for (const int64_t m : tap_order(g.K, first)) {
      const auto [lo, hi] = g.valid(m);
      if (lo == hi) continue;
      const auto item = [&, lo = lo, hi = hi](int64_t n) {
        return SampleGemm{Wk.select(0, m), dY.select(0, n).narrow(1, lo, hi - lo),
                          dXp.select(0, n).select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo)};
      };
      gemm_per_sample(item, 0, true, dY.stride(0), false, dXp.stride(0), g.N, m == first ? 0.0 : 1.0);
    }
    if (g.s > 1) add_phases<T>(dXp, dX, g, mask);
  });
}

// Most elements one weight-gradient chunk of per-sample products may hold (64 MiB of f32).
constexpr int64_t kWeightPartsElems = int64_t(16) << 20;

// dWk[m] = Σ_n dY[n][:, lo:hi] · X_phase(m)[n][:, lo+shift(m) : hi+shift(m)]ᵀ. Per tap and chunk
// of samples, one batched GEMM writes each sample's product into its own slice of a workspace,
// and a kernel adds the slices to dWk[m] in sample order (fixed order: bitwise reruns; the CPU
// sums in the same sample order inside its GEMMs). dWk (K, C_out, C_in) contiguous; every tap is
// written (the first chunk's kernel starts from 0, a tap that reaches no input is zeroed), so dWk
// needs no fill first.
void backward_weight_taps(const Tensor& dY, const Tensor& X, Tensor& dWk, const ConvGeom& g) {
  const int64_t len = g.C_out * g.C_in;
  if (g.N == 0 || len == 0) {
    dWk.fill_(0.0);
    return;
  }
  const PhaseMask mask = used_phase_mask(g);
  const int64_t chunk = std::clamp<int64_t>(kWeightPartsElems / len, 1, g.N);
  dispatch_float(X.dtype(), "conv1d", [&]<typename T>() {
    const Tensor Xp = split_phases<T>(X, g, mask);
    Tensor parts = Tensor::empty({chunk, g.C_out, g.C_in}, X.dtype(), X.device());
    const Context& ctx = context_of(dWk);
    for (int64_t m = 0; m < g.K; ++m) {
      const auto [lo, hi] = g.valid(m);
      Tensor dWm = dWk.select(0, m);
      if (lo == hi) {
        dWm.fill_(0.0);
        continue;
      }
      for (int64_t n0 = 0; n0 < g.N; n0 += chunk) {
        const int64_t nb = std::min(chunk, g.N - n0);
        const auto item = [&, lo = lo, hi = hi](int64_t n) {
          return SampleGemm{dY.select(0, n0 + n).narrow(1, lo, hi - lo),
                            Xp.select(0, n0 + n).select(0, g.phase(m)).narrow(1, lo + g.shift(m), hi - lo),
                            parts.select(0, n)};
        };
        gemm_per_sample(item, dY.stride(0), false, Xp.stride(0), true, len, nb, 0.0);
        add_parts_kernel<T>
            <<<blocks_for(len), kThreads, 0, ctx.stream>>>(dWm.data<T>(), parts.data<T>(), nb, len, n0 > 0);
        check_launch("conv1d");
      }
    }
  });
}

}  // namespace

// ---- the contract ------------------------------------------------------------------------------

// Wk[m, o, c] = W[o, c, m] (W itself, viewed (1, O, C), for K = 1).
Tensor conv_prepare_weight(const Tensor& W, const ConvGeom&) {
  const int64_t O = W.size(0), C = W.size(1), K = W.size(2);
  const Tensor Wc = W.contiguous();
  if (K == 1) return Wc.view({1, O, C});
  Tensor Wk = Tensor::empty({K, O, C}, W.dtype(), W.device());
  const int64_t n = Wk.numel();
  dispatch_float(W.dtype(), "conv", [&]<typename T>() {
    if (n == 0) return;
    const Context& ctx = context_of(Wk);
    taps_major_kernel<T><<<blocks_for(n), kThreads, 0, ctx.stream>>>(Wk.data<T>(), Wc.data<T>(), O, C, K, n);
    check_launch("conv");
  });
  return Wk;
}

// Without a bias, a covering tap (if any) overwrites Y instead of a zero fill.
void conv_forward(const Tensor& X, const Tensor& Wk, const Tensor& b, Tensor& Y, const ConvGeom& g) {
  const int64_t first = b.defined() || g.N == 0 ? -1 : forward_covering_tap(g);
  if (first < 0) fill_with_bias(Y, b);
  forward_taps(X, Wk, Y, g, first);
}

// The same for dX (a conv1d's input gradient has no bias; a transposed conv's forward does).
void conv_backward_input(const Tensor& dY, const Tensor& Wk, const Tensor& b, Tensor& dX, const ConvGeom& g) {
  const int64_t first = b.defined() || g.N == 0 ? -1 : input_covering_tap(g);
  if (first < 0) fill_with_bias(dX, b);
  backward_input_taps(dY, Wk, dX, g, first);
}

// Accumulated taps-major, then laid out as (C_out, C_in, K); for K = 1 the two layouts coincide
// and the GEMMs accumulate into dW itself.
void conv_backward_weight(const Tensor& dY, const Tensor& X, Tensor& dW, const ConvGeom& g) {
  if (g.K == 1) {
    Tensor dWk = dW.view({1, g.C_out, g.C_in});
    backward_weight_taps(dY, X, dWk, g);
    return;
  }
  Tensor dWk = Tensor::empty({g.K, g.C_out, g.C_in}, dW.dtype(), dW.device());
  backward_weight_taps(dY, X, dWk, g);
  taps_last(dWk, dW);
}

// db[c] = Σ_{n,t} dY[n, c, t] (dY any view; db contiguous), accumulated in the element type as
// the CPU does, in a fixed order (a rerun is bitwise identical; the order differs from the CPU's).
void conv_bias_grad(const Tensor& dY, Tensor& db) {
  const int64_t N = dY.size(0), C = dY.size(1), len = dY.size(2);
  dispatch_float(dY.dtype(), "conv", [&]<typename T>() {
    if (C == 0) return;
    const Context& ctx = context_of(db);
    bias_grad_kernel<T><<<unsigned(C), kThreads, 0, ctx.stream>>>(db.data<T>(), dY.data<T>(), N, len, dY.stride(0),
                                                                   dY.stride(1), dY.stride(2));
    check_launch("conv");
  });
}

ConvKernels conv_kernels() {
  return {.prepare_weight = conv_prepare_weight,
          .forward = conv_forward,
          .backward_input = conv_backward_input,
          .backward_weight = conv_backward_weight,
          .bias_grad = conv_bias_grad};
}

}  // namespace seqnet::cuda
