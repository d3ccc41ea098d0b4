// models/step_kernels.cpp — GEMV/GEMM and gating on raw floats for the step modes.
#include "models/step_kernels.h"

#include <cblas.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

namespace seqnet::step {

void affine_rows(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const float* W, const float* bias,
                 float* Y, bool accumulate) {
  affine_block(N, M, Kd, X, ldx, W, /*ldw=*/Kd, bias, Y, /*ldy=*/M, accumulate);
}

void affine_block(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const float* W, int64_t ldw,
                  const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (M <= 0) return;
  if (bias) {
    for (int64_t n = 0; n < N; ++n) {
      float* y = Y + n * ldy;
      if (accumulate)
        for (int64_t o = 0; o < M; ++o) y[o] += bias[o];
      else
        std::memcpy(y, bias, size_t(M) * sizeof(float));
    }
  }
  const float beta = (bias || accumulate) ? 1.0f : 0.0f;
  if (Kd == 0) {
    if (beta == 0.0f)
      for (int64_t n = 0; n < N; ++n) std::memset(Y + n * ldy, 0, size_t(M) * sizeof(float));
    return;
  }
  if (N == 1)
    cblas_sgemv(CblasRowMajor, CblasNoTrans, int(M), int(Kd), 1.0f, W, int(ldw), X, 1, beta, Y, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(N), int(M), int(Kd), 1.0f, X, int(ldx), W, int(ldw),
                beta, Y, int(ldy));
}

void gated_range(int64_t N, int64_t C, int64_t o0, int64_t o1, const float* fg, const float* identity, int64_t ld_id,
                 float* out, int64_t ld_out) {
  if (ld_out == 0) ld_out = C;
  for (int64_t n = 0; n < N; ++n) {
    const float* f = fg + n * 2 * C;
    const float* g = f + C;
    float* y = out + n * ld_out;
    for (int64_t o = o0; o < o1; ++o) y[o] = std::tanh(f[o]) * (1.0f / (1.0f + std::exp(-g[o])));
    if (identity) {
      const float* id = identity + n * ld_id;
      for (int64_t o = o0; o < o1; ++o) y[o] += id[o];
    }
  }
}

std::pair<int64_t, int64_t> share(int64_t count, int tid, int n) {
  if (n <= 1) return {0, count};
  // Boundaries count·k / n rounded down to a multiple of 8 floats (whole vector registers) when
  // the shares are big enough; the last member ends at count (C 180, 2 threads: 88 + 92 rows).
  auto bound = [&](int64_t k) {
    if (k >= n) return count;
    const int64_t b = count * k / n;
    return count >= 8 * n ? b / 8 * 8 : b;
  };
  const int64_t b = bound(tid), e = bound(tid + 1);
  return {b, e};
}

void StepTeam::set_threads(int threads) {
  const int hw = int(std::thread::hardware_concurrency());
  wanted_ = std::max(1, hw > 0 ? std::min(threads, hw) : threads);
}

SingleThreadedBlas::SingleThreadedBlas() : saved_(omp_get_max_threads()) { omp_set_num_threads(1); }
SingleThreadedBlas::~SingleThreadedBlas() { omp_set_num_threads(saved_); }

bool StepTeam::in_parallel() { return omp_in_parallel() != 0; }
int StepTeam::team_size_now() { return omp_get_num_threads(); }
int StepTeam::team_rank_now() { return omp_get_thread_num(); }

// Sense by generation count: the last member to arrive resets the count and opens the next
// generation; the others wait until it does.
void StepTeam::sync() {
  if (size_ <= 1) return;
  const int gen = generation_.load(std::memory_order_acquire);
  if (arrived_.fetch_add(1, std::memory_order_acq_rel) == size_ - 1) {
    arrived_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  } else {
    // Spin briefly (a member is usually microseconds behind), then yield the core: on a busy
    // machine the member we wait for may need it.
    for (int spins = 0; generation_.load(std::memory_order_acquire) == gen; ++spins) {
      if (spins < 4000) {
#if defined(__x86_64__)
        _mm_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }
}

void gated_rows(int64_t N, int64_t C, const float* fg, const float* identity, int64_t ld_id, float* out) {
  for (int64_t n = 0; n < N; ++n) {
    const float* f = fg + n * 2 * C;
    const float* g = f + C;
    float* y = out + n * C;
    for (int64_t o = 0; o < C; ++o) y[o] = std::tanh(f[o]) * (1.0f / (1.0f + std::exp(-g[o])));
    if (identity) {
      const float* id = identity + n * ld_id;
      for (int64_t o = 0; o < C; ++o) y[o] += id[o];
    }
  }
}

void pack_conv_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0) {
  check(W.dim() == 3, "pack_conv_taps: weight must be (C_out, C_in, K), got {}", W.describe());
  const int64_t C_out = W.size(0), C_in = W.size(1), K = W.size(2), cols = int64_t(taps.size()) * C_in;
  const std::vector<double> w = W.to_vector<double>();
  for (int64_t o = 0; o < C_out; ++o)
    for (size_t m = 0; m < taps.size(); ++m) {
      check(taps[m] >= 0 && taps[m] < K, "pack_conv_taps: tap {} outside kernel {}", taps[m], K);
      for (int64_t c = 0; c < C_in; ++c)
        dst[(row0 + o) * cols + int64_t(m) * C_in + c] = float(w[size_t((o * C_in + c) * K + taps[m])]);
    }
}

void pack_transposed_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0) {
  check(W.dim() == 3, "pack_transposed_taps: weight must be (C_in, C_out, K), got {}", W.describe());
  const int64_t C_in = W.size(0), C_out = W.size(1), K = W.size(2), cols = int64_t(taps.size()) * C_in;
  const std::vector<double> w = W.to_vector<double>();
  for (int64_t o = 0; o < C_out; ++o)
    for (size_t m = 0; m < taps.size(); ++m) {
      check(taps[m] >= 0 && taps[m] < K, "pack_transposed_taps: tap {} outside kernel {}", taps[m], K);
      for (int64_t c = 0; c < C_in; ++c)
        dst[(row0 + o) * cols + int64_t(m) * C_in + c] = float(w[size_t((c * C_out + o) * K + taps[m])]);
    }
}

void pack_bias(const Tensor& b, int64_t C_out, float* dst, int64_t row0) {
  if (!b.defined()) {
    std::memset(dst + row0, 0, size_t(C_out) * sizeof(float));
    return;
  }
  check(b.numel() == C_out, "pack_bias: bias has {} entries, expected {}", b.numel(), C_out);
  const std::vector<double> v = b.to_vector<double>();
  for (int64_t o = 0; o < C_out; ++o) dst[row0 + o] = float(v[size_t(o)]);
}

Tensor f32_zeros(const Shape& shape) { return Tensor::zeros(shape, DType::F32); }

}  // namespace seqnet::step
