// ops/kernels/conv.h — the conv family's kernel contract (conv1d and conv_transpose1d).
//
// Every convolution is described by the geometry of one conv1d: input X (N, C_in, T), weight W
// (C_out, C_in, K), output Y (N, C_out, T_out), stride s, dilation d, front padding pf.
//   prepare_weight   Wp := W in the layout this backend's forward and backward_input read for the
//                    geometry g (the CPU's: W itself, contiguous, where it runs one im2col GEMM,
//                    else (C_out, K, C_in); the GPU's: (K, C_out, C_in)); the op computes it for the forward
//                    and again for the input gradient rather than keeping a second copy of
//                    every weight alive from forward to backward (a copy costs far less than
//                    a GEMM; the memory is the step's peak)
//   forward          Y  := b + conv(X, W)     y[n,o,t] = b[o] + Σ_{c,m} W[o,c,m] · x[n,c,s·t + d·m − pf]
//   backward_input   dX := b + convᵀ(dY, W)   dx[n,c,s·t+d·m−pf] += Σ_o W[o,c,m] · dy[n,o,t]
//   backward_weight  dW := Σ_n corr(dY, X)    dW[o,c,m] = Σ_{n,t} dy[n,o,t] · x[n,c,s·t + d·m − pf]
//   bias_grad        db := Σ_{n,t} dY         db[o] = Σ_{n,t} dy[n,o,t]
// b may be undefined (no bias: the output starts at zero). conv_transpose1d(x, w, s) is exactly
// backward_input of the conv1d with weight w, so its forward is backward_input (with its bias),
// its input gradient forward and its weight gradient backward_weight with X and dY swapped.
// forward and backward_input take Wp, not W. Shapes: X, dX (N, C_in, T); Y, dY (N, C_out, T_out);
// W, dW (C_out, C_in, K); b, db (C_out)
// — for conv_transpose1d, b and db have C_in entries (its output channels). Outputs are
// contiguous and fully overwritten; X and dY may be any views with a unit stride along T or C.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

#include "core/tensor.h"

namespace seqnet {

struct ConvGeom {
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
  double flops_per_sample() const { return 2.0 * double(C_out) * double(C_in) * double(K) * double(T_out); }
};

struct ConvKernels {
  Tensor (*prepare_weight)(const Tensor& W, const ConvGeom& g);
  void (*forward)(const Tensor& X, const Tensor& Wp, const Tensor& b, Tensor& Y, const ConvGeom& g);
  void (*backward_input)(const Tensor& dY, const Tensor& Wp, const Tensor& b, Tensor& dX, const ConvGeom& g);
  void (*backward_weight)(const Tensor& dY, const Tensor& X, Tensor& dW, const ConvGeom& g);
  void (*bias_grad)(const Tensor& dY, Tensor& db);
};

}  // namespace seqnet
