// tests/test_step_weights.cpp — half-precision and 8-bit weights for the step modes
// (step::Weights::F16, step::Weights::I8):
//   * the portable float <-> half conversions: every half round-trips, ties go to even, the
//     range ends saturate to inf, and (where the build has F16C) they agree with the hardware;
//   * step::Matrix::affine in both formats against a double-precision reference computed on the
//     very weights it stores (so the kernel is checked tightly, rounding aside), on awkward shapes:
//     rows and columns that are not multiples of 8, row and column offsets, batch 1 to 5,
//     accumulate, with and without bias;
//   * the int8 quantisation (a scale per row): error at most scale / 2 per weight, rows of zeros, a
//     row with one huge value, non-finite weights refused by name, the AVX2 kernel against the
//     portable one;
//   * whole steppers with f16 and i8 weights stay within a measured bound of the float32 ones.
#include <gtest/gtest.h>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/step_kernels.h"
#include "models/step/wavenet_step.h"
#include "test_util.h"

using namespace seqnet;
using seqnet::testing::max_abs_diff;

namespace {

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

TEST(HalfConversion, EveryHalfRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x03ffu) != 0;
    const float f = step::half_to_float(uint16_t(h));
    if (nan) {
      EXPECT_TRUE(std::isnan(f)) << std::hex << h;
      continue;
    }
    ASSERT_EQ(step::float_to_half(f), h) << std::hex << "half 0x" << h << " -> " << f;
  }
  EXPECT_EQ(step::half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(step::half_to_float(0xc000), -2.0f);
  EXPECT_EQ(step::half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(step::half_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(step::half_to_float(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_TRUE(std::isinf(step::half_to_float(0x7c00)));
  EXPECT_TRUE(std::signbit(step::half_to_float(0x8000)));
}

TEST(HalfConversion, RoundsToNearestEvenAndSaturates) {
  const float u = std::ldexp(1.0f, -10);  // one half ulp at 1.0
  EXPECT_EQ(step::float_to_half(1.0f + u / 2), 0x3c00);          // tie -> even (down)
  EXPECT_EQ(step::float_to_half(1.0f + 3 * u / 2), 0x3c02);      // tie -> even (up)
  EXPECT_EQ(step::float_to_half(1.0f + u / 2 + u / 64), 0x3c01);  // past the tie
  EXPECT_EQ(step::float_to_half(65519.0f), 0x7bff);
  EXPECT_EQ(step::float_to_half(65520.0f), 0x7c00);  // the tie above 65504 rounds to inf
  EXPECT_EQ(step::float_to_half(-1e6f), 0xfc00);
  EXPECT_EQ(step::float_to_half(std::ldexp(1.0f, -25)), 0x0000);      // subnormal tie -> even 0
  EXPECT_EQ(step::float_to_half(3 * std::ldexp(1.0f, -25)), 0x0002);  // 1.5 units -> 2
  EXPECT_EQ(step::float_to_half(1e-9f), 0x0000);
  EXPECT_EQ(step::float_to_half(-0.0f), 0x8000);
  const uint16_t nan = step::float_to_half(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

#if defined(__F16C__)
TEST(HalfConversion, AgreesWithTheHardware) {
  std::mt19937 rng(5);
  int checked = 0;
  for (int i = 0; i < 400000; ++i) {
    // Exponents around the half range (2^-30 .. 2^17), random mantissas and signs.
    const uint32_t exp = 97 + rng() % 48, bits = (rng() & 0x80000000u) | (exp << 23) | (rng() & 0x7fffffu);
    const float f = bits_to_float(bits);
    ASSERT_EQ(step::float_to_half(f), _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)) << f;
    ++checked;
  }
  for (uint32_t h = 0; h < 65536; ++h) {
    const float a = step::half_to_float(uint16_t(h)), b = _cvtsh_ss(uint16_t(h));
    if (!std::isnan(a) || !std::isnan(b)) {
      ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << std::hex << h;
    }
  }
  EXPECT_EQ(checked, 400000);
}
#endif

// ---- step::Matrix::affine ------------------------------------------------------------------------

namespace {

// Y = bias + W[row0:row0+M, col0:col0+Kd] · X (or Y += that) in double, from the weights as
// stored (halves widened back), with a tolerance scaled by Σ|w·x|.
void check_affine(step::Weights format, int64_t rows, int64_t cols, int64_t N, int64_t row0, int64_t M, int64_t col0,
                  int64_t Kd, bool with_bias, bool accumulate, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  step::Matrix W(rows, cols);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float& v : w) v = normal(rng) * 0.3f;
  std::memcpy(W.data(), w.data(), w.size() * sizeof(float));
  W.store_as(format, "test matrix");
  // The weights as stored, exactly (I8: q · scale in double).
  std::vector<double> wd(w.begin(), w.end());
  if (format == step::Weights::F16)
    for (double& v : wd) v = step::half_to_float(step::float_to_half(float(v)));
  if (format == step::Weights::I8)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        wd[size_t(r * cols + c)] = double(W.i8_row(r)[c]) * double(W.i8_scale(r));
  const int64_t ldx = Kd + 3, ldy = M + 2;  // padded rows: the kernel must honour the strides
  std::vector<float> X(static_cast<size_t>(N * ldx)), bias(static_cast<size_t>(M)), Y(static_cast<size_t>(N * ldy));
  for (float& v : X) v = normal(rng);
  for (float& v : bias) v = normal(rng);
  for (float& v : Y) v = normal(rng);
  const std::vector<float> Y0 = Y;
  W.affine(N, row0, M, col0, Kd, X.data(), ldx, with_bias ? bias.data() : nullptr, Y.data(), ldy, accumulate);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < ldy; ++o) {
      const size_t at = size_t(n * ldy + o);
      if (o >= M) {  // outside the block: untouched
        ASSERT_EQ(Y[at], Y0[at]) << "padding of row " << n << " was written";
        continue;
      }
      double ref = with_bias ? bias[size_t(o)] : 0.0, scale = std::fabs(ref);
      for (int64_t c = 0; c < Kd; ++c) {
        const double p = wd[size_t((row0 + o) * cols + col0 + c)] * X[size_t(n * ldx + c)];
        ref += p, scale += std::fabs(p);
      }
      if (accumulate) ref += Y0[at], scale += std::fabs(Y0[at]);
      ASSERT_NEAR(Y[at], ref, 1e-6 * scale + 1e-6)
          << step::weights_name(format) << " " << rows << "x" << cols << " N " << N << " rows [" << row0 << ", "
          << row0 + M << ") cols [" << col0 << ", " << col0 + Kd << ") bias " << with_bias << " acc " << accumulate
          << " at (" << n << ", " << o << ")";
    }
}

}  // namespace

TEST(StepMatrix, ProductsEqualADoubleReferenceOnTheStoredWeights) {
  std::mt19937 rng(17);
  struct Shape {
    int64_t rows, cols, row0, M, col0, Kd;
  };
  const Shape shapes[] = {
      {1, 1, 0, 1, 0, 1},       {7, 13, 0, 7, 0, 13},    {9, 8, 1, 8, 0, 8},       {13, 37, 4, 9, 5, 31},
      {64, 129, 8, 56, 1, 128}, {20, 40, 10, 10, 16, 24}, {360, 900, 268, 92, 0, 900}, {17, 300, 0, 17, 7, 293},
  };
  for (step::Weights format : {step::Weights::F32, step::Weights::F16, step::Weights::I8})
    for (const Shape& s : shapes)
      for (int64_t N : {1, 2, 3, 5, 9})
        for (bool with_bias : {false, true})
          for (bool accumulate : {false, true})
            check_affine(format, s.rows, s.cols, N, s.row0, s.M, s.col0, s.Kd, with_bias, accumulate, rng);
}

TEST(StepMatrix, ClearErrors) {
  step::Matrix W(2, 3);
  W.data()[4] = 1e5f;
  EXPECT_THROW(
      {
        try {
          W.store_as(step::Weights::F16, "filter_convs.7");
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("filter_convs.7"), std::string::npos) << e.what();
          EXPECT_NE(std::string(e.what()).find("65504"), std::string::npos) << e.what();
          EXPECT_NE(std::string(e.what()).find("(1, 1)"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  step::Matrix V(2, 2);
  V.store_as(step::Weights::F16, "v");
  EXPECT_EQ(V.bytes(), 8u);
  EXPECT_THROW(V.data(), Error);
  EXPECT_EQ(step::parse_weights("f16"), step::Weights::F16);
  try {
    step::parse_weights("bf16");
    ADD_FAILURE() << "bf16 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'bf16'"), std::string::npos) << e.what();
  }
}

// ---- 8-bit weights ---------------------------------------------------------------------------------

namespace {

step::Matrix matrix_of(int64_t rows, int64_t cols, const std::vector<float>& w) {
  step::Matrix W(rows, cols);
  std::memcpy(W.data(), w.data(), w.size() * sizeof(float));
  return W;
}

}  // namespace

TEST(StepMatrixI8, QuantisationErrorIsAtMostHalfAScale) {
  std::mt19937 rng(41);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 37, cols = 203;
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {  // rows of very different magnitudes (1e-20 .. 1e20)
    const float mag = std::pow(10.0f, float(int(r % 9) * 5 - 20));
    for (int64_t c = 0; c < cols; ++c) w[size_t(r * cols + c)] = normal(rng) * mag;
  }
  step::Matrix W = matrix_of(rows, cols, w);
  W.store_as(step::Weights::I8, "q");
  EXPECT_EQ(W.format(), step::Weights::I8);
  EXPECT_EQ(W.bytes(), size_t(rows * cols + 4 * rows));
  for (int64_t r = 0; r < rows; ++r) {
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c) amax = std::max(amax, std::fabs(w[size_t(r * cols + c)]));
    const double scale = W.i8_scale(r);
    ASSERT_EQ(W.i8_scale(r), amax / 127.0f) << "row " << r;
    int qmax = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const int q = W.i8_row(r)[c];
      ASSERT_LE(std::abs(q), 127) << "row " << r;
      qmax = std::max(qmax, std::abs(q));
      const double err = std::fabs(double(w[size_t(r * cols + c)]) - q * scale);
      ASSERT_LE(err, scale / 2 * (1 + 1e-12)) << "row " << r << " col " << c;
    }
    EXPECT_EQ(qmax, 127) << "the largest weight of row " << r << " must use the whole range";
  }
}

TEST(StepMatrixI8, RowsOfZerosAndOneHugeValue) {
  const int64_t rows = 4, cols = 21;
  std::vector<float> w(static_cast<size_t>(rows * cols), 0.0f);
  for (int64_t c = 0; c < cols; ++c) {
    w[size_t(1 * cols + c)] = 0.01f * float(c + 1);  // an ordinary row
    w[size_t(2 * cols + c)] = 0.01f * float(c + 1);  // the same with one huge value
    w[size_t(3 * cols + c)] = -0.5f;                 // constant row
  }
  w[size_t(2 * cols + 7)] = -1e30f;
  step::Matrix W = matrix_of(rows, cols, w);
  W.store_as(step::Weights::I8, "z");
  EXPECT_EQ(W.i8_scale(0), 0.0f);
  for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(W.i8_row(0)[c], 0);
  // Per-row scales: the huge value flattens its own row only.
  EXPECT_EQ(W.i8_row(2)[7], -127);
  for (int64_t c = 0; c < cols; ++c) {
    if (c != 7) {
      EXPECT_EQ(W.i8_row(2)[c], 0) << c;
    }
  }
  EXPECT_EQ(W.i8_row(1)[cols - 1], 127);
  for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(W.i8_row(3)[c], -127);
  std::vector<float> X(static_cast<size_t>(5 * cols)), bias = {0.25f, -1.0f, 2.0f, 3.0f};
  for (size_t i = 0; i < X.size(); ++i) X[i] = float(i % 7) - 3.0f;
  for (int64_t N : {1, 5}) {
    std::vector<float> Y(static_cast<size_t>(N * rows), 99.0f);
    W.affine(N, 0, rows, 0, cols, X.data(), cols, bias.data(), Y.data(), rows, false);
    for (int64_t n = 0; n < N; ++n) {
      EXPECT_EQ(Y[size_t(n * rows)], 0.25f) << "a row of zeros gives its bias exactly";
      for (int64_t r = 1; r < rows; ++r) {
        double ref = bias[size_t(r)];
        for (int64_t c = 0; c < cols; ++c)
          ref += double(W.i8_row(r)[c]) * double(W.i8_scale(r)) * X[size_t(n * cols + c)];
        ASSERT_TRUE(std::isfinite(Y[size_t(n * rows + r)]));
        EXPECT_NEAR(Y[size_t(n * rows + r)], ref, 1e-6 * std::fabs(ref) + 1e-6) << "N " << N << " row " << r;
      }
    }
  }
}

TEST(StepMatrixI8, NonFiniteWeightsAreRefusedByName) {
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    step::Matrix W(3, 4);
    W.data()[9] = bad;
    try {
      W.store_as(step::Weights::I8, "gate_convs.3");
      ADD_FAILURE() << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("gate_convs.3"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("(2, 1)"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("i8"), std::string::npos) << e.what();
    }
  }
  step::Matrix V(2, 2);
  V.store_as(step::Weights::I8, "v");
  EXPECT_EQ(V.bytes(), 4u + 8u);
  EXPECT_THROW(V.data(), Error);
  EXPECT_THROW(V.store_as(step::Weights::F16, "v"), Error);
  EXPECT_EQ(step::parse_weights("i8"), step::Weights::I8);
  EXPECT_STREQ(step::weights_name(step::Weights::I8), "i8");
  try {
    step::parse_weights("int8");
    ADD_FAILURE() << "int8 accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'i8'"), std::string::npos) << e.what();
  }
}

// The portable kernel (what a -DSEQNET_NATIVE=OFF build multiplies with) against the kernel of
// this build on the same stored weights: both sum in float32, in different orders.
TEST(StepMatrixI8, PortableKernelAgreesWithThisBuildsKernel) {
  std::printf("[ i8 kernel of this build: %s ]\n", step::i8_kernel_is_simd() ? "AVX2" : "portable");
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (int64_t rows : {1, 7, 64, 180})
    for (int64_t cols : {1, 13, 128, 900})
      for (int64_t N : {1, 2, 5, 16}) {
        std::vector<float> w(static_cast<size_t>(rows * cols));
        for (float& v : w) v = normal(rng);
        step::Matrix W = matrix_of(rows, cols, w);
        W.store_as(step::Weights::I8, "p");
        std::vector<float> scale(static_cast<size_t>(rows)), bias(static_cast<size_t>(rows));
        std::vector<int8_t> q(static_cast<size_t>(rows * cols));
        for (int64_t r = 0; r < rows; ++r) {
          scale[size_t(r)] = W.i8_scale(r), bias[size_t(r)] = normal(rng);
          std::memcpy(q.data() + r * cols, W.i8_row(r), size_t(cols));
        }
        std::vector<float> X(static_cast<size_t>(N * cols));
        for (float& v : X) v = normal(rng);
        std::vector<float> a(static_cast<size_t>(N * rows)), b(a.size());
        W.affine(N, 0, rows, 0, cols, X.data(), cols, bias.data(), a.data(), rows, false);
        step::i8_affine_portable(N, rows, cols, X.data(), cols, q.data(), cols, scale.data(), bias.data(), b.data(),
                                 rows, false);
        for (int64_t n = 0; n < N; ++n)
          for (int64_t r = 0; r < rows; ++r) {
            double mag = std::fabs(bias[size_t(r)]);
            for (int64_t c = 0; c < cols; ++c)
              mag += std::fabs(double(q[size_t(r * cols + c)]) * scale[size_t(r)] * X[size_t(n * cols + c)]);
            ASSERT_NEAR(a[size_t(n * rows + r)], b[size_t(n * rows + r)], 1e-6 * mag)
                << rows << "x" << cols << " N " << N << " at (" << n << ", " << r << ")";
          }
      }
}

// ---- whole steppers ---------------------------------------------------------------------------------

namespace {

// max |y_w − y32| / max |y32| over `steps` dense steps after the same save; the save outputs
// (a normal forward, float32 either way) must be identical.
template <class Stepper, class Model>
double weights_vs_float(Model& model, const Tensor& x, const Tensor& cols, step::Weights format) {
  NoGradGuard no_grad;
  Stepper a(model, step::Weights::F32), b(model, format);
  EXPECT_EQ(max_abs_diff(a.save(x), b.save(x)), 0.0);
  double diff = 0, scale = 0;
  for (int64_t s = 0; s < cols.size(0); ++s) {
    const Tensor col = cols.select(0, s).contiguous();
    const Tensor ya = a.step(col).clone();
    const Tensor& yb = b.step(col);
    diff = std::max(diff, max_abs_diff(ya, yb));
    for (float v : ya.to_vector<float>()) scale = std::max(scale, double(std::fabs(v)));
  }
  return diff / scale;
}

}  // namespace

// Measured (this test's models, seeds as below): f16 within 1.6e-4 .. 3e-4 of max |output|, i8
// within 2.7e-3 .. 6.2e-3; the bounds (3e-3, 2e-2) are about 3-10× that, so a kernel or
// quantisation error (a wrong scale, a lost row) shows.
TEST(HalfSteppers, StayCloseToFloat32) {
  Generator g(23);
  for (int64_t K : {2, 3})
    for (bool bias : {false, true}) {
      WaveNetConfig c;
      c.layers = 5, c.blocks = 2, c.dilation_channels = 24, c.residual_channels = 20, c.skip_channels = 36;
      c.classes = 12, c.output_length = 1, c.kernel_size = K, c.bias = bias;
      WaveNet model(c, g);
      model.set_training(false);
      const Tensor x = Tensor::randn({2, 12, model.receptive_field()}, DType::F32, g);
      const Tensor cols = Tensor::randn({40, 2, 12}, DType::F32, g);
      const double rel = weights_vs_float<WaveNetStepper>(model, x, cols, step::Weights::F16);
      EXPECT_GT(rel, 0.0) << "the f16 stepper gave float32 results bit for bit: were the weights converted?";
      EXPECT_LT(rel, 3e-3) << "wavenet K " << K << " bias " << bias;
      const double rel8 = weights_vs_float<WaveNetStepper>(model, x, cols, step::Weights::I8);
      EXPECT_GT(rel8, 0.0) << "the i8 stepper gave float32 results bit for bit: were the weights converted?";
      EXPECT_LT(rel8, 2e-2) << "wavenet K " << K << " bias " << bias;
      std::printf("[ wavenet K %lld bias %d ] f16 vs f32: %.2e, i8 vs f32: %.2e of max |output|\n", (long long)K,
                  int(bias), rel, rel8);
    }
  for (int64_t K : {3, 5})
    for (int64_t depth : {1, 2}) {
      SequnetResConfig c;
      c.num_inputs = 12, c.num_channels = 20, c.num_levels = 5, c.num_outputs = 12, c.kernel_size = K;
      c.depth = depth, c.target_output_size = 1;
      SequnetRes model(c, g);
      model.set_training(false);
      const Tensor x = Tensor::randn({2, 12, model.input_size()}, DType::F32, g);
      const Tensor cols = Tensor::randn({48, 2, 12}, DType::F32, g);
      const double rel = weights_vs_float<SequnetResStepper>(model, x, cols, step::Weights::F16);
      EXPECT_GT(rel, 0.0);
      EXPECT_LT(rel, 3e-3) << "sequnet_res K " << K << " depth " << depth;
      const double rel8 = weights_vs_float<SequnetResStepper>(model, x, cols, step::Weights::I8);
      EXPECT_GT(rel8, 0.0);
      EXPECT_LT(rel8, 2e-2) << "sequnet_res K " << K << " depth " << depth;
      std::printf("[ sequnet_res K %lld depth %lld ] f16 vs f32: %.2e, i8 vs f32: %.2e of max |output|\n",
                  (long long)K, (long long)depth, rel, rel8);
    }
}
