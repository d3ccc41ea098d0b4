// The CPU's float tanh, sigmoid and gated unit (ops/cpu/vmath.h: glibc's libmvec, eight values at a
// time, where the build has it) against double-precision references: within 4 ulp everywhere,
// including the tails, the saturated range, ±inf and NaN, and at every tail length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "ops/backend.h"
#include "ops/loss.h"

using namespace seqnet;

namespace {

// Distance in units of the float spacing at the reference value (exact zeros: absolute 1e-45 ok).
double ulps(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0.0 : 1e30;
  if (std::isinf(ref)) return got == float(ref) ? 0.0 : 1e30;
  const float r = float(ref);
  const float spacing = std::nextafter(std::fabs(r), std::numeric_limits<float>::infinity()) - std::fabs(r);
  return std::fabs(double(got) - ref) / double(spacing);
}

// Below x ≈ −87.3, exp(−x) overflows float and 1 / (1 + exp(−x)) is 0 in any float evaluation
// (libm's too) while the true value is a denormal: there only [0, 1e−37] is asked.
double sigmoid_error(float got, double x) {
  if (x < -87.3) return got >= 0.f && got <= 1e-37f ? 0.0 : 1e30;
  return ulps(got, 1.0 / (1.0 + std::exp(-x)));
}

std::vector<float> probe_values() {
  std::vector<float> v;
  for (int i = -200000; i <= 200000; ++i) v.push_back(float(i) * 1e-4f);          // [−20, 20], fine steps
  for (float x = 1e-30f; x < 100.f; x *= 1.37f) v.push_back(x), v.push_back(-x);  // tiny to huge
  const float inf = std::numeric_limits<float>::infinity();
  for (float x : {0.f, -0.f, inf, -inf, 88.7f, -88.7f, 103.9f, -103.9f, 1e-45f, 3e38f, -3e38f}) v.push_back(x);
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  return v;
}

}  // namespace

TEST(VectorMath, TanhSigmoidAndGatedWithin4UlpOfDouble) {
  const std::vector<float> xs = probe_values();
  const int64_t n = int64_t(xs.size());
  const Backend& be = backend_for("test", Tensor::zeros({1}, DType::F32));
  Tensor x = Tensor::from_vector(xs, {n});
  Tensor t = Tensor::empty({n}, DType::F32), s = Tensor::empty({n}, DType::F32);
  be.activation.forward(Activation::Tanh, x, t, 0.0);
  be.activation.forward(Activation::Sigmoid, x, s, 0.0);
  // The gated unit on (f, g) = (x, reversed x), so each value meets another.
  std::vector<float> rev(xs.rbegin(), xs.rend());
  Tensor g = Tensor::from_vector(rev, {n});
  Tensor y = Tensor::empty({n}, DType::F32), gt = Tensor::empty({n}, DType::F32), gs = Tensor::empty({n}, DType::F32);
  be.activation.gated_forward(x, g, y, gt, gs);
  double worst_t = 0, worst_s = 0, worst_y = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double xd = xs[size_t(i)], gd = rev[size_t(i)];
    const double rt = std::tanh(xd);
    worst_t = std::max(worst_t, ulps(t.data<float>()[i], rt));
    worst_s = std::max(worst_s, sigmoid_error(s.data<float>()[i], xd));
    EXPECT_EQ(std::memcmp(&gt.data<float>()[i], &t.data<float>()[i], 4), 0) << "gated t at x = " << xd;
    const double ry = double(gt.data<float>()[i]) * double(gs.data<float>()[i]);  // y = t · s in float
    worst_s = std::max(worst_s, sigmoid_error(gs.data<float>()[i], gd));
    worst_y = std::max(worst_y, ulps(y.data<float>()[i], ry));
  }
  EXPECT_LE(worst_t, 4.0);
  EXPECT_LE(worst_s, 4.0);
  EXPECT_LE(worst_y, 0.5);  // the product itself is rounded once
  RecordProperty("worst_tanh_ulp", std::to_string(worst_t));
  RecordProperty("worst_sigmoid_ulp", std::to_string(worst_s));
  std::printf("worst ulp: tanh %.2f, sigmoid %.2f\n", worst_t, worst_s);
}

TEST(VectorMath, EveryTailLengthIsWithin4Ulp) {
  // Lengths 1..17: no block of 8, one block and a tail, two blocks and a tail.
  std::vector<float> xs;
  for (int i = 0; i < 40; ++i) xs.push_back(float(i) * 0.37f - 7.f);
  const Backend& be = backend_for("test", Tensor::zeros({1}, DType::F32));
  for (int64_t len = 1; len <= 17; ++len) {
    std::vector<float> part(xs.begin(), xs.begin() + len);
    Tensor y = Tensor::empty({len}, DType::F32);
    be.activation.forward(Activation::Tanh, Tensor::from_vector(part, {len}), y, 0.0);
    for (int64_t i = 0; i < len; ++i)
      EXPECT_LE(ulps(y.data<float>()[i], std::tanh(double(xs[size_t(i)]))), 4.0) << "len " << len << " i " << i;
  }
}

TEST(VectorMath, FloatSoftmaxAndCrossEntropyMatchDouble) {
  // f32 softmax / log_softmax / cross-entropy take a contiguous row (inner = 1) eight classes at a
  // time, eight rows side by side where the class axis is not the last (inner ≥ 8), the rest row by
  // row; f64 is the row-by-row libm path. inner 1 with C = 5 (no full vector), 37 and 203 (a tail);
  // inner 8 (whole blocks), 13 and 45 (a partial last block), 3 (no block); a mask with zeros;
  // large logits.
  const std::pair<int64_t, int64_t> shapes[] = {{1, 5}, {1, 37}, {1, 203}, {3, 37}, {8, 37}, {13, 37}, {45, 37}};
  for (auto [inner, C] : shapes) {
    Generator gen(uint64_t(100 + inner + C));
    const int64_t N = 2;
    Tensor x64 = Tensor::uniform({N, C, inner}, -30.0, 30.0, DType::F64, gen);
    Tensor x32 = x64.to(DType::F32).to(DType::F64).to(DType::F32);
    x64 = x32.to(DType::F64);  // both sides see the same values
    std::vector<int64_t> tv(size_t(N * inner)), mv(size_t(N * inner));
    for (size_t k = 0; k < tv.size(); ++k) tv[k] = int64_t((k * 7 + 3) % size_t(C)), mv[k] = k % 5 == 2 ? 0 : 1;
    Tensor t = Tensor::from_vector(tv, {N, inner}), mask = Tensor::from_vector(mv, {N, inner});
    for (bool log : {false, true}) {
      Tensor y32 = (log ? log_softmax(Variable(x32), 1) : softmax(Variable(x32), 1)).data().to(DType::F64);
      Tensor y64 = (log ? log_softmax(Variable(x64), 1) : softmax(Variable(x64), 1)).data();
      double worst = 0;
      for (int64_t k = 0; k < y64.numel(); ++k) {
        const double a = y32.data<double>()[k], b = y64.data<double>()[k];
        worst = std::max(worst, std::fabs(a - b) / std::max(1e-30, log ? std::max(1.0, std::fabs(b)) : b));
      }
      EXPECT_LT(worst, log ? 2e-6 : 5e-6) << (log ? "log_softmax" : "softmax") << " inner " << inner << " C " << C;
    }
    const double l32 = cross_entropy(Variable(x32), t, mask, Reduction::Mean).data().to(DType::F64).data<double>()[0];
    const double l64 = cross_entropy(Variable(x64), t, mask, Reduction::Mean).data().data<double>()[0];
    EXPECT_NEAR(l32, l64, 1e-5 * std::max(1.0, std::fabs(l64))) << "cross_entropy inner " << inner << " C " << C;
    // Logits in [−3, 3], where every class weighs in the log-sum-exp, position by position.
    Tensor s32 = Tensor::uniform({N, C, inner}, -3.0, 3.0, DType::F64, gen).to(DType::F32);
    Tensor s64 = s32.to(DType::F64);
    Tensor p32 = cross_entropy(Variable(s32), t, mask, Reduction::None).data().to(DType::F64);
    Tensor p64 = cross_entropy(Variable(s64), t, mask, Reduction::None).data();
    for (int64_t k = 0; k < p64.numel(); ++k)
      EXPECT_NEAR(p32.data<double>()[k], p64.data<double>()[k], 1e-6 * std::max(1.0, std::fabs(p64.data<double>()[k])))
          << "cross_entropy per position " << k << " inner " << inner << " C " << C;
  }
}
