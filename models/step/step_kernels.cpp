// models/step/step_kernels.cpp — GEMV/GEMM and gating on raw floats for the step modes.
#include "models/step/step_kernels.h"

#include <cblas.h>
#include <fmt/format.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/error.h"
#include "ops/backend.h"
#include "ops/cpu/cpu_backend.h"

namespace seqnet::step {

const char* weights_name(Weights w) { return w == Weights::F16 ? "f16" : w == Weights::I8 ? "i8" : "f32"; }

Weights parse_weights(const std::string& s) {
  if (s == "f32") return Weights::F32;
  if (s == "f16") return Weights::F16;
  if (s == "i8") return Weights::I8;
  fail(fmt::format("step weights: expected 'f32', 'f16' or 'i8', got '{}'", s));
}

// Bit-level conversions after F. Giesen's "float_to_half_fast3_rtne" / "half_to_float": the
// exponent is rebiased with integer adds and the rounding is done either by an integer bias
// (normal halves) or by the FPU itself (subnormal halves: adding 0.5f lines the 10 mantissa bits
// up at the bottom of the float, and float addition rounds to nearest even).
uint16_t float_to_half(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t sign = (u >> 16) & 0x8000u;
  u &= 0x7fffffffu;
  uint16_t h;
  if (u >= (127u + 16u) << 23) {  // ≥ 65536 (rounds past 65504), inf or NaN
    h = u > 0x7f800000u ? 0x7e00 : 0x7c00;
  } else if (u < (113u << 23)) {  // below 2^-14: a subnormal half or zero
    float f;
    std::memcpy(&f, &u, 4);
    f += 0.5f;
    uint32_t r;
    std::memcpy(&r, &f, 4);
    h = uint16_t(r - 0x3f000000u);
  } else {
    const uint32_t odd = (u >> 13) & 1u;
    u += (uint32_t(15 - 127) << 23) + 0xfffu + odd;  // rebias the exponent, round to nearest even
    h = uint16_t(u >> 13);
  }
  return uint16_t(h | sign);
}

float half_to_float(uint16_t h) {
  uint32_t u = uint32_t(h & 0x7fffu) << 13;
  const uint32_t exp = u & (0x7c00u << 13);
  u += uint32_t(127 - 15) << 23;
  float f;
  if (exp == 0x7c00u << 13) {  // inf / NaN
    u += uint32_t(128 - 16) << 23;
    std::memcpy(&f, &u, 4);
  } else if (exp == 0) {  // zero / subnormal: renormalise through the FPU
    u += 1u << 23;
    std::memcpy(&f, &u, 4);
    f -= 0x1p-14f;
  } else {
    std::memcpy(&f, &u, 4);
  }
  uint32_t r;
  std::memcpy(&r, &f, 4);
  r |= uint32_t(h & 0x8000u) << 16;
  std::memcpy(&f, &r, 4);
  return f;
}

namespace {

// dot[r·B + b] = Σ_k W[r, k] · X[b, k] for R half rows (ldw apart) and B float rows (ldx apart):
// each group of 8 halves is widened once (F16C) and used for all B rows of X.
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
template <int R, int B>
void half_dots(int64_t Kd, const uint16_t* W, int64_t ldw, const float* X, int64_t ldx, float* dot) {
  __m256 acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= Kd; k += 8)
    for (int r = 0; r < R; ++r) {
      const __m256 w = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(W + r * ldw + k)));
      for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(w, _mm256_loadu_ps(X + b * ldx + k), acc[r][b]);
    }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float s = hsum(acc[r][b]);
      for (int64_t j = k; j < Kd; ++j) s += _cvtsh_ss(W[r * ldw + j]) * X[b * ldx + j];
      dot[r * B + b] = s;
    }
}
#else
template <int R, int B>
void half_dots(int64_t Kd, const uint16_t* W, int64_t ldw, const float* X, int64_t ldx, float* dot) {
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float s = 0;
      for (int64_t j = 0; j < Kd; ++j) s += half_to_float(W[r * ldw + j]) * X[b * ldx + j];
      dot[r * B + b] = s;
    }
}
#endif

// Rows [o, o + R) of Y for X rows [n, n + B).
template <int R, int B>
void half_block(int64_t n, int64_t o, int64_t Kd, const uint16_t* W, int64_t ldw, const float* X, int64_t ldx,
                const float* bias, float* Y, int64_t ldy, bool accumulate) {
  float dot[R * B];
  half_dots<R, B>(Kd, W + o * ldw, ldw, X + n * ldx, ldx, dot);
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float& y = Y[(n + b) * ldy + o + r];
      const float v = (bias ? bias[o + r] : 0.0f) + dot[r * B + b];
      y = accumulate ? y + v : v;
    }
}

// Y (N, M) (+)= X (N, Kd) · Wᵀ + bias with W in halves. Row blocks outermost: a block of 4 or 8
// rows (a few KB) stays in L1 while every row of X passes over it, so the weights cross the
// memory bus once per step for any N.
void half_affine(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const uint16_t* W, int64_t ldw,
                 const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (N == 1) {  // 8 independent accumulators keep both FMA pipes busy; remainders in 4s, then 1s
    int64_t o = 0;
    for (; o + 8 <= M; o += 8) half_block<8, 1>(0, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
    for (; o + 4 <= M; o += 4) half_block<4, 1>(0, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
    for (; o < M; ++o) half_block<1, 1>(0, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
    return;
  }
  int64_t o = 0;
  for (; o + 4 <= M; o += 4) {
    int64_t n = 0;
    for (; n + 2 <= N; n += 2) half_block<4, 2>(n, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
    if (n < N) half_block<4, 1>(n, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
  }
  for (; o < M; ++o)
    for (int64_t n = 0; n < N; ++n) half_block<1, 1>(n, o, Kd, W, ldw, X, ldx, bias, Y, ldy, accumulate);
}

// ---- int8 rows with a float scale per row ----

// dot[r·B + b] = Σ_k Q[r, k] · X[b, k] for R int8 rows (ldq apart) and B float rows (ldx apart),
// in float32; the row scale is applied by the caller. The portable version, one term at a time
// (always compiled: the tests compare the AVX2 kernel with it).
template <int R, int B>
void i8_dots_scalar(int64_t Kd, const int8_t* Q, int64_t ldq, const float* X, int64_t ldx, float* dot) {
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float s = 0;
      for (int64_t j = 0; j < Kd; ++j) s += float(Q[r * ldq + j]) * X[b * ldx + j];
      dot[r * B + b] = s;
    }
}

// AVX2: each group of 8 int8 is sign-extended to int32 and converted to float once (vpmovsxbd
// straight from memory + vcvtdq2ps) and used for all B rows of X.
#if defined(__AVX2__) && defined(__FMA__)
constexpr bool kI8Simd = true;
inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline __m256 widen8(const int8_t* q) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q))));
}
template <int R, int B>
void i8_dots_simd(int64_t Kd, const int8_t* Q, int64_t ldq, const float* X, int64_t ldx, float* dot) {
  __m256 acc[R][B];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) acc[r][b] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= Kd; k += 8) {
    __m256 x[B];
    for (int b = 0; b < B; ++b) x[b] = _mm256_loadu_ps(X + b * ldx + k);
    for (int r = 0; r < R; ++r) {
      const __m256 w = widen8(Q + r * ldq + k);
      for (int b = 0; b < B; ++b) acc[r][b] = _mm256_fmadd_ps(w, x[b], acc[r][b]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float s = hsum8(acc[r][b]);
      for (int64_t j = k; j < Kd; ++j) s += float(Q[r * ldq + j]) * X[b * ldx + j];
      dot[r * B + b] = s;
    }
}
#else
constexpr bool kI8Simd = false;
template <int R, int B>
void i8_dots_simd(int64_t Kd, const int8_t* Q, int64_t ldq, const float* X, int64_t ldx, float* dot) {
  i8_dots_scalar<R, B>(Kd, Q, ldq, X, ldx, dot);
}
#endif

// Rows [o, o + R) of Y for X rows [n, n + B); `scale` is indexed like the rows of Q.
template <bool Simd, int R, int B>
void i8_block(int64_t n, int64_t o, int64_t Kd, const int8_t* Q, int64_t ldq, const float* scale, const float* X,
              int64_t ldx, const float* bias, float* Y, int64_t ldy, bool accumulate) {
  float dot[R * B];
  if constexpr (Simd)
    i8_dots_simd<R, B>(Kd, Q + o * ldq, ldq, X + n * ldx, ldx, dot);
  else
    i8_dots_scalar<R, B>(Kd, Q + o * ldq, ldq, X + n * ldx, ldx, dot);
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < B; ++b) {
      float& y = Y[(n + b) * ldy + o + r];
      const float v = (bias ? bias[o + r] : 0.0f) + dot[r * B + b] * scale[o + r];
      y = accumulate ? y + v : v;
    }
}

// Y (N, M) (+)= X (N, Kd) · (scale ⊙ Q)ᵀ + bias. As half_affine: row blocks outermost, so a block
// of rows (a few hundred bytes) stays in L1 while every row of X passes over it and the int8
// weights cross the memory bus once per step for any N.
template <bool Simd, int R>
void i8_rows(int64_t o, int64_t N, int64_t Kd, const float* X, int64_t ldx, const int8_t* Q, int64_t ldq,
             const float* scale, const float* bias, float* Y, int64_t ldy, bool accumulate) {
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) i8_block<Simd, R, 4>(n, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate);
  switch (N - n) {
    case 3: i8_block<Simd, R, 3>(n, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate); break;
    case 2: i8_block<Simd, R, 2>(n, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate); break;
    case 1: i8_block<Simd, R, 1>(n, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate); break;
    default: break;
  }
}

template <bool Simd>
void i8_affine(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const int8_t* Q, int64_t ldq,
               const float* scale, const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (N == 1) {  // 8 rows at once: 8 independent FMA chains, one load of x per 8 rows
    int64_t o = 0;
    for (; o + 8 <= M; o += 8) i8_block<Simd, 8, 1>(0, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate);
    for (; o + 4 <= M; o += 4) i8_block<Simd, 4, 1>(0, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate);
    for (; o < M; ++o) i8_block<Simd, 1, 1>(0, o, Kd, Q, ldq, scale, X, ldx, bias, Y, ldy, accumulate);
    return;
  }
  // 2 rows × 4 batch rows: every widened weight vector feeds 4 FMAs (8 accumulators + 4 x + 1 w
  // registers of the 16).
  int64_t o = 0;
  for (; o + 2 <= M; o += 2) i8_rows<Simd, 2>(o, N, Kd, X, ldx, Q, ldq, scale, bias, Y, ldy, accumulate);
  for (; o < M; ++o) i8_rows<Simd, 1>(o, N, Kd, X, ldx, Q, ldq, scale, bias, Y, ldy, accumulate);
}

}  // namespace

Matrix::Matrix(int64_t rows, int64_t cols) : rows_(rows), cols_(cols), storage_(f32_zeros({rows, cols})) {
  check(rows > 0 && cols > 0, "step::Matrix: rows and cols must be positive, got {} x {}", rows, cols);
}

float* Matrix::data() {
  check(format_ == Weights::F32, "step::Matrix::data: the matrix is stored as {}, not f32", weights_name(format_));
  return storage_.data<float>();
}

const float* Matrix::f32() const {
  check(format_ == Weights::F32, "step::Matrix::f32: the matrix is stored as {}, not f32", weights_name(format_));
  return storage_.data<float>();
}

const int8_t* Matrix::i8_row(int64_t r) const {
  check(format_ == Weights::I8 && r >= 0 && r < rows_, "step::Matrix::i8_row: row {} of a {} matrix of {} rows", r,
        weights_name(format_), rows_);
  return reinterpret_cast<const int8_t*>(storage_.data<float>()) + r * cols_;
}

float Matrix::i8_scale(int64_t r) const {
  check(format_ == Weights::I8 && r >= 0 && r < rows_, "step::Matrix::i8_scale: row {} of a {} matrix of {} rows", r,
        weights_name(format_), rows_);
  return scales_.data<float>()[r];
}

void Matrix::to(Device d, const std::string& what) {
  if (d == storage_.device()) return;
  if (!d.is_cpu() && format_ != Weights::F32)
    fail(fmt::format("step weights {}: {} stores {} weights, which only the CPU multiplies; use f32 weights on {}",
                     weights_name(format_), what, weights_name(format_), d.str()));
  storage_ = storage_.to(d);
  if (scales_.defined()) scales_ = scales_.to(d);
}

void Matrix::store_as(Weights w, const std::string& what) {
  if (w == format_) return;
  check(storage_.device().is_cpu(), "step::Matrix::store_as: {}: convert on the CPU, then move the matrix", what);
  check(format_ == Weights::F32, "step::Matrix::store_as: {}: only f32 → f16 or f32 → i8 is supported", what);
  const int64_t n = rows_ * cols_;
  const float* src = storage_.data<float>();
  if (w == Weights::I8) {
    for (int64_t i = 0; i < n; ++i)
      check(std::isfinite(src[i]), "step weights i8: {} holds {} at ({}, {}); use finite weights", what, src[i],
            i / cols_, i % cols_);
    // Symmetric per row: scale = max|row| / 127 (float32, as stored), q = round(w / scale) to
    // nearest, ties to even, in double, so |w − q·scale| ≤ scale / 2; a row of zeros keeps scale 0.
    Tensor bytes = f32_zeros({(n + 3) / 4});
    Tensor scales = f32_zeros({rows_});
    int8_t* q = reinterpret_cast<int8_t*>(bytes.data<float>());
    float* sc = scales.data<float>();
    for (int64_t r = 0; r < rows_; ++r) {
      const float* row = src + r * cols_;
      float amax = 0;
      for (int64_t c = 0; c < cols_; ++c) amax = std::max(amax, std::fabs(row[c]));
      const float scale = amax / 127.0f;
      sc[r] = scale;
      for (int64_t c = 0; c < cols_; ++c) {
        const double v = scale > 0 ? std::nearbyint(double(row[c]) / double(scale)) : 0.0;
        q[r * cols_ + c] = int8_t(std::clamp(v, -127.0, 127.0));
      }
    }
    storage_ = std::move(bytes);
    scales_ = std::move(scales);
    format_ = w;
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    check(std::isfinite(src[i]) && std::fabs(src[i]) <= 65504.0f,
          "step weights f16: {} holds {} at ({}, {}), outside the half range ±65504; use f32 weights", what, src[i],
          i / cols_, i % cols_);
  Tensor halves = f32_zeros({(n + 1) / 2});
  uint16_t* dst = reinterpret_cast<uint16_t*>(halves.data<float>());
  for (int64_t i = 0; i < n; ++i) dst[i] = float_to_half(src[i]);
  storage_ = std::move(halves);
  format_ = w;
}

void Matrix::affine(int64_t N, int64_t row0, int64_t M, int64_t col0, int64_t Kd, const float* X, int64_t ldx,
                    const float* bias, float* Y, int64_t ldy, bool accumulate) const {
  if (M <= 0) return;
  if (format_ == Weights::F32) {
    // On a GPU the backend's kernel; on the CPU the same BLAS call (cpu::step_affine).
    const float* W = storage_.data<float>() + row0 * cols_ + col0;
    if (storage_.device().is_cpu())
      affine_block(N, M, Kd, X, ldx, W, cols_, bias, Y, ldy, accumulate);
    else
      backend(storage_.device(), "step affine").step.affine(N, M, Kd, X, ldx, W, cols_, bias, Y, ldy, accumulate);
    return;
  }
  if (format_ == Weights::I8) {
    const int8_t* Q = reinterpret_cast<const int8_t*>(storage_.data<float>()) + row0 * cols_ + col0;
    i8_affine<kI8Simd>(N, M, Kd, X, ldx, Q, cols_, scales_.data<float>() + row0, bias, Y, ldy, accumulate);
    return;
  }
  const uint16_t* W = reinterpret_cast<const uint16_t*>(storage_.data<float>()) + row0 * cols_ + col0;
  half_affine(N, M, Kd, X, ldx, W, cols_, bias, Y, ldy, accumulate);
}

bool i8_kernel_is_simd() { return kI8Simd; }

bool use_fused_gates(int request, Device device, int64_t batch, Weights weights, int team_threads) {
  return batch > 0 && (request < 0 ? !device.is_cpu() : request == 1) && batch <= kGatedAffineMaxBatch &&
         weights == Weights::F32 && team_threads == 1;
}

void i8_affine_portable(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const int8_t* Q, int64_t ldq,
                        const float* scale, const float* bias, float* Y, int64_t ldy, bool accumulate) {
  if (M > 0) i8_affine<false>(N, M, Kd, X, ldx, Q, ldq, scale, bias, Y, ldy, accumulate);
}

void affine_block(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const float* W, int64_t ldw,
                  const float* bias, float* Y, int64_t ldy, bool accumulate) {
  cpu::step_affine(N, M, Kd, X, ldx, W, ldw, bias, Y, ldy, accumulate);
}

void gated_range(int64_t N, int64_t C, int64_t o0, int64_t o1, const float* fg, const float* identity, int64_t ld_id,
                 float* out, int64_t ld_out) {
  cpu::step_gated(N, C, o0, o1, fg, identity, ld_id, out, ld_out == 0 ? C : ld_out);
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

void pack_conv_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0) {
  if (!(W.dim() == 3)) fail(fmt::format("pack_conv_taps: weight must be (C_out, C_in, K), got {}", W.describe()));
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
  if (!(W.dim() == 3)) fail(fmt::format("pack_transposed_taps: weight must be (C_in, C_out, K), got {}", W.describe()));
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

Tensor f32_zeros(const Shape& shape, Device d) { return Tensor::zeros(shape, DType::F32, d); }

}  // namespace seqnet::step
