// models/step/step_kernels.h — what the step modes (models/step/*_step) are built from besides the
// backend's step kernels: packed weight matrices, their half / int8 storage, row shares and teams.
//
// The kernels of a step (products over a block of rows, the gated unit, pushes, lookups, the draw)
// are the step family of the backend table, `StepKernels` (ops/kernels/step.h; CPU twins in
// ops/cpu/step.cpp, CUDA in cuda/ops/step.cu). This file adds:
//   Matrix             a weight matrix packed once from the model (pack_conv_taps /
//                      pack_transposed_taps / pack_bias), stored as f32 (on any device), or on the
//                      CPU as f16 or i8 (+ a scale per row)
//   Matrix::affine     Y[n, o] = bias[o] + Σ_c W[row0 + o, col0 + c] · X[n, c]   (or Y += …):
//                      the backend's affine kernel for f32, our F16C / AVX2 kernels for f16 / i8
//   affine_block, gated_range   the CPU's affine and gated kernels, for the CPU-only step modes
// The per-model bookkeeping (queues, clocks, which layer fires) stays in the steppers.
//
// On the CPU, a step touches one column per layer, so everything is a matrix-vector
// product (batch 1: cblas_sgemv) or a thin matrix product (batch N: cblas_sgemm) on weights
// packed once into a step::Matrix (float32, or halves multiplied by our F16C kernel, or int8 rows
// with a float scale each multiplied by our AVX2 kernel), plus the
// gated activation. No allocation happens in here.
//
// Threads: a GEMV of a few hundred rows is too small for BLAS's own threading (waking the pool
// costs more than the product), so a step can run as one team: every thread walks the same layers
// and computes its own share of each layer's output rows (single-threaded BLAS on that block of
// the weights), with a barrier wherever a layer needs all of its input. That pays on an idle
// machine; on a busy one a member waits for a descheduled member at every barrier (measured with
// load 7 on 2 cores: 32 instead of 1160 samples/s), so teams are opt-in (set_team_threads).
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace seqnet::step {

// How a stepper stores its weight matrices. At batch 1 a step is one matrix-vector product per
// layer, so its speed is the rate at which the weights stream from memory (docs/generation.md,
// "What limits the speed"). F16 stores every weight as an IEEE half (rounded to nearest even) and
// accumulates in float32: half the bytes per step, at a relative weight error of at most 2^-11.
// I8 stores every row as int8 with one float32 scale per row (symmetric: scale = max|row| / 127,
// q = round-to-nearest(w / scale), so |w − q·scale| ≤ scale / 2) and accumulates in float32
// (Σ_c q[c]·x[c], times the row's scale): a quarter of the f32 bytes (plus 4 bytes a row).
// F32 (the default) is exact against the full forward.
enum class Weights { F32, F16, I8 };
const char* weights_name(Weights w);     // "f32" / "f16" / "i8"
Weights parse_weights(const std::string& s);  // "f32" / "f16" / "i8", else a clear error

// IEEE 754 binary16 <-> binary32, round to nearest even (portable; the kernels use F16C when the
// build has it). |x| beyond the largest half (65504) becomes ±inf, as the hardware does.
uint16_t float_to_half(float x);
float half_to_float(uint16_t h);

// A weight matrix (rows, cols) of a stepper, packed once, stored as float32, half or int8 rows with
// a scale per row. Packing writes float32 through data(); store_as(Weights::F16) then rounds it to
// halves (a weight beyond ±65504 is refused by name), store_as(Weights::I8) quantises every row
// (a non-finite weight is refused by name). Storage comes from the seqnet allocator, so its
// counters see it.
class Matrix {
 public:
  Matrix() = default;
  Matrix(int64_t rows, int64_t cols);  // float32 zeros
  bool defined() const { return rows_ > 0; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  Weights format() const { return format_; }
  // Bytes of storage one full pass over the matrix reads (I8: the int8 rows plus a float scale per row).
  size_t bytes() const {
    const size_t n = size_t(rows_ * cols_);
    return format_ == Weights::F32 ? 4 * n : format_ == Weights::F16 ? 2 * n : n + 4 * size_t(rows_);
  }
  float* data();  // float32 storage (packing); an error after store_as(F16 / I8)
  const float* f32() const;  // the same, read-only, on the matrix's device (rows cols() floats apart)
  // I8 only: row r's int8 values (cols() of them) and its scale; the stored weight is q · scale.
  const int8_t* i8_row(int64_t r) const;
  float i8_scale(int64_t r) const;
  void store_as(Weights w, const std::string& what);  // in place, on the CPU; `what` names the matrix in errors
  // Moves the storage to device `d` (a GPU multiplies f32 matrices only: f16 / i8 are refused by name).
  void to(Device d, const std::string& what);
  Device device() const { return storage_.device(); }
  // Y[n, o] = bias[o] + Σ_c W[row0 + o, col0 + c] · X[n, c]  (or Y += that, with `accumulate`)
  // for n < N, o < M, c < Kd; X rows `ldx` floats apart, Y rows `ldy` apart, bias may be null.
  // F32: BLAS (sgemv / sgemm); F16, I8: our kernels, one pass over the M×Kd weights for any N.
  void affine(int64_t N, int64_t row0, int64_t M, int64_t col0, int64_t Kd, const float* X, int64_t ldx,
              const float* bias, float* Y, int64_t ldy, bool accumulate) const;

 private:
  int64_t rows_ = 0, cols_ = 0;
  Weights format_ = Weights::F32;
  Tensor storage_;  // F32: (rows, cols); F16: halves in float32 storage of ceil(rows·cols / 2) floats;
                    // I8: int8 in float32 storage of ceil(rows·cols / 4) floats
  Tensor scales_;   // I8: (rows) float32, one per row
};

// Y (N, M) = X (N, Kd) · Wᵀ + bias (float32, BLAS), W rows `ldw` floats apart, X rows `ldx` apart,
// Y rows `ldy` apart (a block of a wider output); `accumulate`: Y += X · Wᵀ (+ bias) instead.
void affine_block(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const float* W, int64_t ldw,
                  const float* bias, float* Y, int64_t ldy, bool accumulate);

// The portable (scalar) int8 product that Matrix::affine uses where the build lacks AVX2 + FMA:
// Y (N, M) (+)= X (N, Kd) · (scale ⊙ Q)ᵀ + bias, Q int8 rows `ldq` apart, scale[o] per row.
// Exposed so that the tests can compare the AVX2 kernel with it in a native build.
void i8_affine_portable(int64_t N, int64_t M, int64_t Kd, const float* X, int64_t ldx, const int8_t* Q, int64_t ldq,
                        const float* scale, const float* bias, float* Y, int64_t ldy, bool accumulate);
bool i8_kernel_is_simd();  // whether Matrix::affine multiplies I8 with the AVX2 kernel in this build

// Whether a stepper runs its gated convs through StepKernels::gated_affine (product and gate in
// one kernel). `request`: −1 the default (on a GPU, where a step is bound by its kernel count; not
// on the CPU, whose BLAS products and team are faster), 0 never, 1 wherever it applies — after a
// save (batch > 0), at batch ≤ kGatedAffineMaxBatch, with f32 weights and a team of one.
bool use_fused_gates(int request, Device device, int64_t batch, Weights weights, int team_threads);

// out[n, o] = tanh(fg[n, o]) · sigmoid(fg[n, C + o]) + identity[n, o] for the channels [o0, o1)
// (fg: (N, 2C), filter rows first; identity rows `ld_id` apart, null for none; out rows `ld_out`
// floats apart, 0: C).
void gated_range(int64_t N, int64_t C, int64_t o0, int64_t o1, const float* fg, const float* identity, int64_t ld_id,
                 float* out, int64_t ld_out = 0);

// Member `tid` of `n` gets [begin, end) of `count` rows (contiguous shares, multiples of 8 where possible;
// the last member takes the rest).
std::pair<int64_t, int64_t> share(int64_t count, int tid, int n);

// While alive, BLAS calls from this thread run single-threaded: OpenBLAS (OpenMP build) follows
// the caller's omp_get_max_threads(), which this sets to 1 and restores. Waking BLAS's thread
// pool costs more than a GEMV of a few hundred rows, and much more on a busy machine.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

 private:
  int saved_;
};

// A team of threads for one step. run(f) calls f(tid, size) on every member inside one OpenMP
// parallel region (on the caller alone, with single-threaded BLAS, when size is 1 or when already
// inside a parallel region); sync() is a barrier among the members.
class StepTeam {
 public:
  explicit StepTeam(int threads = 1) { set_threads(threads); }
  // Copies carry the thread count only (the barrier state belongs to a running step).
  StepTeam(const StepTeam& o) : wanted_(o.wanted_) {}
  StepTeam& operator=(const StepTeam& o) {
    wanted_ = o.wanted_;
    return *this;
  }
  // At least 1 and at most the hardware threads: members spin at barriers, so an oversubscribed
  // team would wait for descheduled members.
  void set_threads(int threads);
  int wanted() const { return wanted_; }
  template <class F>
  void run(F&& f);
  void sync();

 private:
  static bool in_parallel();
  static int team_size_now();  // omp_get_num_threads / omp_get_thread_num, kept out of the header
  static int team_rank_now();
  int wanted_ = 1, size_ = 1;
  std::atomic<int> arrived_{0}, generation_{0};
};

template <class F>
void StepTeam::run(F&& f) {
  if (wanted_ == 1 || in_parallel()) {
    size_ = 1;
    SingleThreadedBlas solo;
    f(0, 1);
    return;
  }
  arrived_.store(0), generation_.store(0);
  int size = 0;
#pragma omp parallel num_threads(wanted_)
  {
#pragma omp single
    size = size_ = team_size_now();
    f(team_rank_now(), size);
  }
}

// A conv weight W (C_out, C_in, K) as a GEMV matrix over a tap-major window: row o, column m·C_in + c
// holds W[o, c, taps[m]]; written into rows [row0, row0 + C_out) of `dst` (row length taps.size()·C_in).
// f32 or f64 weights; the result is float.
void pack_conv_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0);
// The same for a ConvTranspose1d weight W (C_in, C_out, K) (note the order).
void pack_transposed_taps(const Tensor& W, const std::vector<int64_t>& taps, float* dst, int64_t row0);

// Copies bias b (C_out) into dst[row0 ..]; zeros if b is undefined.
void pack_bias(const Tensor& b, int64_t C_out, float* dst, int64_t row0);

// A float32 tensor of `shape` on `d`, from that device's allocator (buffers of the steppers, so the
// allocator's counters see them).
Tensor f32_zeros(const Shape& shape, Device d = Device::cpu());

}  // namespace seqnet::step
