// The CPU's float tanh, sigmoid and gated unit (ops/cpu/vmath.h: glibc's libmvec, eight values at a
// time, where the build has it) against double-precision references: within 4 ulp everywhere,
// including the tails, the saturated range, ±inf and NaN, and at every tail length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/tensor.h"
#include "ops/backend.h"

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
