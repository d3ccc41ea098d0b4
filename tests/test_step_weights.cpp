// tests/test_step_weights.cpp — half-precision weights for the step modes (step::Weights::F16):
//   * the portable float <-> half conversions: every half round-trips, ties go to even, the
//     range ends saturate to inf, and (where the build has F16C) they agree with the hardware;
//   * step::Matrix::affine in both formats against a double-precision reference computed on the
//     very weights it stores (so the kernel is checked tightly, rounding aside), on awkward shapes:
//     rows and columns that are not multiples of 8, row and column offsets, batch 1 to 5,
//     accumulate, with and without bias;
//   * whole steppers with f16 weights stay within a measured bound of the float32 ones.
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
  if (format == step::Weights::F16)
    for (float& v : w) v = step::half_to_float(step::float_to_half(v));
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
        const double p = double(w[size_t((row0 + o) * cols + col0 + c)]) * X[size_t(n * ldx + c)];
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
  for (step::Weights format : {step::Weights::F32, step::Weights::F16})
    for (const Shape& s : shapes)
      for (int64_t N : {1, 2, 3, 5})
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

// ---- whole steppers ---------------------------------------------------------------------------------

namespace {

// max |y16 − y32| / max |y32| over `steps` dense steps after the same save; the save outputs
// (a normal forward, float32 either way) must be identical.
template <class Stepper, class Model>
double half_vs_float(Model& model, const Tensor& x, const Tensor& cols) {
  NoGradGuard no_grad;
  Stepper a(model, step::Weights::F32), b(model, step::Weights::F16);
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
      const double rel = half_vs_float<WaveNetStepper>(model, x, Tensor::randn({40, 2, 12}, DType::F32, g));
      EXPECT_GT(rel, 0.0) << "the f16 stepper gave float32 results bit for bit: were the weights converted?";
      EXPECT_LT(rel, 3e-3) << "wavenet K " << K << " bias " << bias;
      std::printf("[ wavenet K %lld bias %d ] f16 vs f32: %.2e of max |output|\n", (long long)K, int(bias), rel);
    }
  for (int64_t K : {3, 5})
    for (int64_t depth : {1, 2}) {
      SequnetResConfig c;
      c.num_inputs = 12, c.num_channels = 20, c.num_levels = 5, c.num_outputs = 12, c.kernel_size = K;
      c.depth = depth, c.target_output_size = 1;
      SequnetRes model(c, g);
      model.set_training(false);
      const Tensor x = Tensor::randn({2, 12, model.input_size()}, DType::F32, g);
      const double rel = half_vs_float<SequnetResStepper>(model, x, Tensor::randn({48, 2, 12}, DType::F32, g));
      EXPECT_GT(rel, 0.0);
      EXPECT_LT(rel, 3e-3) << "sequnet_res K " << K << " depth " << depth;
      std::printf("[ sequnet_res K %lld depth %lld ] f16 vs f32: %.2e of max |output|\n", (long long)K,
                  (long long)depth, rel);
    }
}
