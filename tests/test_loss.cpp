// Softmax / log-softmax, cross-entropy (with masks and any class axis), BCE with logits, one-hot:
// hand-computed forward values, stability with huge logits, errors (gradchecks: tests/op_cases.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "gradcheck.h"
#include "ops/loss.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;
using V = std::vector<Variable>;

namespace {

bool all_finite(const Tensor& t) {
  for (double v : t.to(DType::F64).to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

Tensor ids(const std::vector<int64_t>& v, const Shape& s) { return Tensor::from_vector<int64_t>(v, s); }

// Reference: −log softmax(x)[t] per position for x (N, C, T) computed by hand in double.
double ce_ref(const Tensor& x, int64_t n, int64_t t, int64_t target) {
  const int64_t C = x.size(1);
  double m = -1e300;
  for (int64_t c = 0; c < C; ++c) m = std::max(m, x.at<double>({n, c, t}));
  double s = 0;
  for (int64_t c = 0; c < C; ++c) s += std::exp(x.at<double>({n, c, t}) - m);
  return m + std::log(s) - x.at<double>({n, target, t});
}
}  // namespace

// ---- softmax / log_softmax ------------------------------------------------------------------------

TEST(Softmax, ForwardValuesHandComputed) {
  // exp(0) : exp(ln 2) : exp(ln 3) = 1 : 2 : 3
  Variable x(Tensor::from_vector<double>({0.0, std::log(2.0), std::log(3.0)}, {1, 3}));
  auto y = softmax(x, 1).data().to_vector<double>();
  EXPECT_NEAR(y[0], 1.0 / 6, 1e-15);
  EXPECT_NEAR(y[1], 2.0 / 6, 1e-15);
  EXPECT_NEAR(y[2], 3.0 / 6, 1e-15);
  auto ly = log_softmax(x, -1).data().to_vector<double>();
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(ly[size_t(c)], std::log((c + 1) / 6.0), 1e-15);
}

TEST(Softmax, AnyAxisSumsToOneAndMatchesLogSoftmax) {
  Tensor x = rand64({2, 3, 5}, 7, -3, 3);
  for (int dim : {0, 1, 2, -1, -3}) {
    Tensor y = softmax(Variable(x), dim).data();
    Tensor ly = log_softmax(Variable(x), dim).data();
    const int d = dim < 0 ? dim + 3 : dim;
    Shape s{2, 3, 5};
    s[size_t(d)] = 1;
    // Σ along dim = 1 everywhere; log_softmax = log(softmax).
    for (int64_t a = 0; a < s[0]; ++a)
      for (int64_t b = 0; b < s[1]; ++b)
        for (int64_t c = 0; c < s[2]; ++c) {
          double sum = 0;
          for (int64_t k = 0; k < x.size(d); ++k) {
            int64_t i[3] = {a, b, c};
            i[d] = k;
            const double yv = y.at<double>({i[0], i[1], i[2]});
            sum += yv;
            EXPECT_NEAR(ly.at<double>({i[0], i[1], i[2]}), std::log(yv), 1e-12);
          }
          EXPECT_NEAR(sum, 1.0, 1e-12) << "dim " << dim;
        }
  }
}

TEST(Softmax, StableWithHugeLogits) {
  Variable x(Tensor::from_vector<float>({1e4f, 0.f, -1e4f, 1e4f, 1e4f, -1e4f}, {2, 3}), true);
  Variable y = softmax(x, 1);
  ASSERT_TRUE(all_finite(y.data()));
  EXPECT_EQ(y.data().to_vector<float>(), (std::vector<float>{1.f, 0.f, 0.f, 0.5f, 0.5f, 0.f}));
  Variable ly = log_softmax(x, 1);
  ASSERT_TRUE(all_finite(ly.data()));
  EXPECT_FLOAT_EQ(ly.data().at<float>({0, 0}), 0.f);
  EXPECT_FLOAT_EQ(ly.data().at<float>({0, 2}), -2e4f);
  sum(ly * Variable(Tensor::ones({2, 3}))).backward();
  EXPECT_TRUE(all_finite(x.grad()));
}

TEST(Softmax, Errors) {
  Variable x(Tensor::zeros({2, 3}));
  EXPECT_THAT(error_of([&] { softmax(x, 2); }), HasSubstr("softmax: dim 2 is out of range for f32[2, 3]"));
  EXPECT_THAT(error_of([&] { log_softmax(x, -3); }), HasSubstr("log_softmax: dim -3"));
  EXPECT_THAT(error_of([&] { softmax(Variable(Tensor::zeros({3}, DType::I64)), 0); }), HasSubstr("softmax"));
  EXPECT_THAT(error_of([&] { softmax(Variable(Tensor::zeros({})), 0); }), HasSubstr("softmax: expected a tensor with"));
}

// ---- cross_entropy --------------------------------------------------------------------------------

TEST(CrossEntropy, UniformLogitsGiveLogC) {
  Variable x(Tensor::zeros({4, 7}));
  Tensor t = ids({0, 3, 6, 2}, {4});
  EXPECT_NEAR(cross_entropy(x, t).item(), std::log(7.0), 1e-6);
  EXPECT_NEAR(cross_entropy(x, t, Reduction::Sum).item(), 4 * std::log(7.0), 1e-5);
  auto per = cross_entropy(x, t, Reduction::None).data();
  EXPECT_EQ(per.shape(), (Shape{4}));
  for (float v : per.to_vector<float>()) EXPECT_NEAR(v, std::log(7.0), 1e-6);
}

TEST(CrossEntropy, HandComputedValueAndGradient) {
  // logits [1, 2, 3], target 2: log(e + e² + e³) − 3 = 0.4076059644...
  Variable x(Tensor::from_vector<double>({1, 2, 3, 1, 2, 3}, {2, 3}), true);
  Variable l = cross_entropy(x, ids({2, 0}, {2}));
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  EXPECT_NEAR(l.item(), ((lse - 3) + (lse - 1)) / 2, 1e-14);
  l.backward();
  // d/dx = (softmax − one_hot) / N
  for (int64_t c = 0; c < 3; ++c) {
    const double p = std::exp(double(c + 1) - lse);
    EXPECT_NEAR(x.grad().at<double>({0, c}), (p - (c == 2)) / 2, 1e-15);
    EXPECT_NEAR(x.grad().at<double>({1, c}), (p - (c == 0)) / 2, 1e-15);
  }
}

TEST(CrossEntropy, ClassAxisOneOn3DMatchesReference) {
  Tensor x = rand64({2, 5, 7}, 21, -4, 4);
  Generator g(3);
  std::vector<int64_t> tv(14);
  for (auto& v : tv) v = int64_t(g.next_u64() % 5);
  Tensor t = ids(tv, {2, 7});
  double ref = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 0; s < 7; ++s) ref += ce_ref(x, n, s, tv[size_t(n * 7 + s)]);
  EXPECT_NEAR(cross_entropy(Variable(x), t, Reduction::Sum).item(), ref, 1e-12);
  EXPECT_NEAR(cross_entropy(Variable(x), t).item(), ref / 14, 1e-12);
  // (N, T, C) with class_dim = -1 gives the same numbers.
  Tensor xt = x.transpose(1, 2);
  EXPECT_NEAR(cross_entropy(Variable(xt), t, Reduction::Sum, -1).item(), ref, 1e-12);
  // f32 agrees to float rounding.
  EXPECT_NEAR(cross_entropy(Variable(x.to(DType::F32)), t).item(), ref / 14, 1e-5);
}

TEST(CrossEntropy, StableWithHugeLogits) {
  // Confident and wrong: loss ≈ 2e4, gradient finite; confident and right: loss 0.
  Variable x(Tensor::from_vector<float>({1e4f, -1e4f, 0.f, -1e4f, 1e4f, 0.f}, {2, 3}), true);
  Variable l = cross_entropy(x, ids({1, 1}, {2}), Reduction::None);
  ASSERT_TRUE(all_finite(l.data()));
  EXPECT_FLOAT_EQ(l.data().at<float>({0}), 2e4f);
  EXPECT_FLOAT_EQ(l.data().at<float>({1}), 0.f);
  Variable m = cross_entropy(x, ids({1, 1}, {2}));
  ASSERT_TRUE(std::isfinite(m.item()));
  m.backward();
  ASSERT_TRUE(all_finite(x.grad()));
  EXPECT_FLOAT_EQ(x.grad().at<float>({0, 0}), 0.5f);
  EXPECT_FLOAT_EQ(x.grad().at<float>({0, 1}), -0.5f);
}

TEST(CrossEntropy, MaskCountsOnlySelectedPositions) {
  // (N=2, C=4, T=5); only the last 3 steps of each row count (like validseqlen); masked-out
  // targets hold −1 (padding), which must not be range-checked.
  Tensor x = rand64({2, 4, 5}, 41, -2, 2);
  std::vector<int64_t> tv{-1, -1, 0, 3, 2, -1, -1, 1, 1, 0};
  std::vector<double> mv{0, 0, 1, 1, 1, 0, 0, 1, 1, 1};
  Tensor t = ids(tv, {2, 5});
  Tensor mask = Tensor::from_vector<double>(mv, {2, 5});
  double ref = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t s = 2; s < 5; ++s) ref += ce_ref(x, n, s, tv[size_t(n * 5 + s)]);
  EXPECT_NEAR(cross_entropy(Variable(x), t, mask, Reduction::Sum).item(), ref, 1e-12);
  EXPECT_NEAR(cross_entropy(Variable(x), t, mask).item(), ref / 6, 1e-12);  // mean over 6 counted positions
  // Same as narrowing the logits to the counted steps.
  Tensor tn = ids({0, 3, 2, 1, 1, 0}, {2, 3});
  EXPECT_NEAR(cross_entropy(Variable(x.narrow(2, 2, 3)), tn).item(), ref / 6, 1e-12);
  // i64 and f32 masks are accepted too.
  EXPECT_NEAR(cross_entropy(Variable(x), t, mask.to(DType::I64)).item(), ref / 6, 1e-12);
  EXPECT_NEAR(cross_entropy(Variable(x), t, mask.to(DType::F32)).item(), ref / 6, 1e-12);
  // None: zeros where masked.
  auto per = cross_entropy(Variable(x), t, mask, Reduction::None).data().to_vector<double>();
  EXPECT_EQ(per[0], 0.0);
  EXPECT_EQ(per[6], 0.0);
  EXPECT_GT(per[2], 0.0);
  // Masked-out positions get exactly zero gradient.
  Variable xv(x, true);
  cross_entropy(xv, t, mask).backward();
  for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(xv.grad().at<double>({1, c, 1}), 0.0);
}

TEST(CrossEntropy, EmptyMaskGivesZeroNotNaN) {
  Variable x(rand64({3, 4}, 42), true);
  Variable l = cross_entropy(x, ids({0, 1, 2}, {3}), Tensor::zeros({3}, DType::F64));
  EXPECT_EQ(l.item(), 0.0);
  l.backward();
  for (double v : x.grad().to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(CrossEntropy, Errors) {
  Variable x(Tensor::zeros({2, 7, 3}));
  EXPECT_THAT(error_of([&] { cross_entropy(x, ids({0, 1, 2, 3, 9, 5}, {2, 3})); }),
              HasSubstr("cross_entropy: target 9 at position 4 is out of range for 7 classes"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, ids({0, 1, 2, 3, -1, 5}, {2, 3})); }),
              HasSubstr("cross_entropy: target -1"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, Tensor::zeros({2, 3})); }),
              HasSubstr("cross_entropy: targets must be int64 class ids, got f32[2, 3]"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, ids({0, 1}, {2})); }),
              HasSubstr("cross_entropy: targets i64[2] do not match logits f32[2, 7, 3]"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, ids({0, 1, 2, 3, 4, 5}, {2, 3}), Reduction::Mean, 3); }),
              HasSubstr("cross_entropy: dim 3 is out of range"));
  EXPECT_THAT(error_of([&] { cross_entropy(Variable(Tensor::zeros({2, 3}, DType::I64)), ids({0, 1}, {2})); }),
              HasSubstr("cross_entropy: logits must be f32 or f64"));
  Tensor t = ids({0, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_THAT(error_of([&] { cross_entropy(x, t, Tensor::full({2, 3}, 0.5)); }),
              HasSubstr("cross_entropy: mask must hold only 0 and 1, got 0.5"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, t, Tensor::ones({3, 2})); }),
              HasSubstr("cross_entropy: mask f32[3, 2] does not match targets i64[2, 3]"));
  EXPECT_THAT(error_of([&] { cross_entropy(x, t, Tensor()); }), HasSubstr("cross_entropy: mask is undefined"));
}

// ---- bce_with_logits ------------------------------------------------------------------------------

TEST(Bce, HandComputedValues) {
  // x = 0, y = 1: log 2;  x = 2, y = 0: 2 + log(1 + e^−2);  x = −1, y = 0.25: 0.75 + log(1 + e^−1)... by formula
  Variable x(Tensor::from_vector<double>({0.0, 2.0, -1.0}, {3}));
  Variable y(Tensor::from_vector<double>({1.0, 0.0, 0.25}, {3}));
  const double l0 = std::log(2.0), l1 = 2.0 + std::log1p(std::exp(-2.0));
  const double l2 = -0.25 * std::log(1 / (1 + std::exp(1.0))) - 0.75 * std::log(1 - 1 / (1 + std::exp(1.0)));
  auto per = bce_with_logits(x, y, Reduction::None).data().to_vector<double>();
  EXPECT_NEAR(per[0], l0, 1e-15);
  EXPECT_NEAR(per[1], l1, 1e-15);
  EXPECT_NEAR(per[2], l2, 1e-15);
  EXPECT_NEAR(bce_with_logits(x, y).item(), (l0 + l1 + l2) / 3, 1e-15);
  EXPECT_NEAR(bce_with_logits(x, y, Reduction::Sum).item(), l0 + l1 + l2, 1e-15);
}

TEST(Bce, StableWithHugeLogits) {
  Variable x(Tensor::from_vector<float>({1e4f, -1e4f, 1e4f, -1e4f}, {2, 2}), true);
  Variable y(Tensor::from_vector<float>({1.f, 0.f, 0.f, 1.f}, {2, 2}));
  auto per = bce_with_logits(x, y, Reduction::None).data().to_vector<float>();
  EXPECT_EQ(per, (std::vector<float>{0.f, 0.f, 1e4f, 1e4f}));
  Variable l = bce_with_logits(x, y, Reduction::Sum);
  l.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0.f, 0.f, 1.f, -1.f}));  // σ(x) − y
}

TEST(Bce, Errors) {
  Variable x(Tensor::zeros({2, 3}));
  EXPECT_THAT(error_of([&] { bce_with_logits(x, Variable(Tensor::zeros({3, 2}))); }),
              HasSubstr("bce_with_logits: targets f32[3, 2] must have the shape and dtype of logits f32[2, 3]"));
  EXPECT_THAT(error_of([&] { bce_with_logits(x, Variable(Tensor::zeros({2, 3}, DType::F64))); }),
              HasSubstr("bce_with_logits: targets f64[2, 3]"));
  EXPECT_THAT(error_of([&] { bce_with_logits(Variable(Tensor::zeros({2}, DType::I64)), Variable(Tensor::zeros({2}, DType::I64))); }),
              HasSubstr("bce_with_logits: logits must be f32 or f64"));
}

// ---- one_hot ----------------------------------------------------------------------------------------

TEST(Loss, OneHot) {
  Tensor id = ids({2, 0, 1, 2}, {2, 2});
  Tensor oh = one_hot(id, 3);
  EXPECT_EQ(oh.shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(oh.dtype(), DType::F32);
  EXPECT_EQ(oh.to_vector<float>(), (std::vector<float>{0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1}));
  // Channel-first: (N, T) → (N, C, T) equals one_hot(...).transpose(1, 2).
  Tensor cf = one_hot_channels_first(id, 3, DType::F64);
  EXPECT_EQ(cf.shape(), (Shape{2, 3, 2}));
  EXPECT_EQ(cf.to_vector<double>(), one_hot(id, 3, DType::F64).transpose(1, 2).to_vector<double>());
  EXPECT_EQ(one_hot(ids({1}, {}), 2, DType::I64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1}));
  EXPECT_THAT(error_of([&] { one_hot(id, 2); }), HasSubstr("one_hot: id 2 at position 0 is out of range for 2 classes"));
  EXPECT_THAT(error_of([&] { one_hot(Tensor::zeros({2}), 2); }), HasSubstr("one_hot: ids must be int64"));
  EXPECT_THAT(error_of([&] { one_hot_channels_first(ids({1}, {}), 2); }), HasSubstr("one_hot_channels_first"));
}
