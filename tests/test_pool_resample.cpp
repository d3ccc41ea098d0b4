// Pooling (ops/pool.h) and resampling (ops/resample.h): hand-computed forwards with PyTorch's
// semantics, gradient routing, errors. Their f64 gradchecks are cases in tests/op_cases.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "ops/pool.h"
#include "ops/resample.h"
#include "ops/shape.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using seqnet::testing::iota;
using seqnet::testing::vals;
using ::testing::HasSubstr;

namespace {

Variable seq(const std::vector<double>& v, bool requires_grad = false) {
  return Variable(Tensor::from_vector<double>(v, {1, 1, int64_t(v.size())}), requires_grad);
}
std::vector<double> grad_of_sum(const Variable& x, Variable y) {
  y.backward(Tensor::ones(y.shape(), y.dtype()));
  return x.grad().to_vector<double>();
}
using V = std::vector<double>;

}  // namespace

// ---- max_pool1d -----------------------------------------------------------------------------------------

TEST(Pool, MaxForward) {
  Variable x = seq({1, 3, 2, 5, 4});
  EXPECT_EQ(vals(max_pool1d(x, 2)), (V{3, 5}));                 // stride defaults to kernel; tail dropped
  EXPECT_EQ(vals(max_pool1d(x, 3, 1, 1)), (V{3, 3, 5, 5, 5}));  // −inf padding never wins
  EXPECT_EQ(vals(max_pool1d(x, 3, 2, 1)), (V{3, 5, 5}));
  EXPECT_EQ(vals(max_pool1d(x, 1)), vals(x));
  EXPECT_EQ(vals(max_pool1d(x, 5)), (V{5}));
  // Rows of (N, C) pool independently.
  EXPECT_EQ(vals(max_pool1d(iota({2, 2, 4}), 2)), (V{1, 3, 5, 7, 9, 11, 13, 15}));
  // f32 works too.
  Variable xf(Tensor::from_vector<float>({1.f, -2.f, 0.5f, 4.f}, {1, 1, 4}));
  EXPECT_EQ(max_pool1d(xf, 2).data().to_vector<float>(), (std::vector<float>{1.f, 4.f}));
}

TEST(Pool, MaxGradientGoesToFirstArgmax) {
  Variable x = seq({2, 2, 1, 0, 0}, true);
  EXPECT_EQ(grad_of_sum(x, max_pool1d(x, 2, 1)), (V{1, 1, 1, 1, 0}));
  // Overlapping windows that share a max accumulate.
  Variable z = seq({0, 9, 0, 0}, true);
  // Windows 0, 1, 2 all pick step 1; window 3 = [0, 0, pad] picks the first 0 (step 2).
  EXPECT_EQ(grad_of_sum(z, max_pool1d(z, 3, 1, 1)), (V{0, 3, 1, 0}));
  // All −inf: the gradient goes to the first real step of each window (as PyTorch's index).
  const double inf = std::numeric_limits<double>::infinity();
  Variable m = seq({-inf, -inf, -inf}, true);
  Variable ym = max_pool1d(m, 3, 1, 1);
  EXPECT_EQ(vals(ym), (V{-inf, -inf, -inf}));
  EXPECT_EQ(grad_of_sum(m, ym), (V{2, 1, 0}));
  // NaN propagates.
  EXPECT_TRUE(std::isnan(vals(max_pool1d(seq({1, std::nan(""), 3}), 3))[0]));
}

// ---- avg_pool1d -----------------------------------------------------------------------------------------

TEST(Pool, AvgForward) {
  Variable x = seq({1, 2, 3, 4, 5});
  EXPECT_EQ(vals(avg_pool1d(x, 2)), (V{1.5, 3.5}));
  EXPECT_EQ(vals(avg_pool1d(x, 3, 1, 1)), (V{1, 2, 3, 4, 3}));  // padded zeros count: (0+1+2)/3, (4+5+0)/3
  EXPECT_EQ(vals(avg_pool1d(x, 3, 2)), (V{2, 4}));
  EXPECT_EQ(vals(avg_pool1d(x, 1)), vals(x));
  Variable xg = seq({1, 2, 3, 4, 5}, true);
  EXPECT_EQ(grad_of_sum(xg, avg_pool1d(xg, 2, 1)), (V{0.5, 1, 1, 1, 0.5}));
}

TEST(Pool, Errors) {
  Variable x = iota({2, 3, 4});
  for (auto pool : {&max_pool1d, &avg_pool1d}) {
    const char* name = pool == &max_pool1d ? "max_pool1d" : "avg_pool1d";
    std::string e = error_of([&] { pool(x, 0, std::nullopt, 0); });
    EXPECT_THAT(e, HasSubstr(name));
    EXPECT_THAT(e, HasSubstr("[2, 3, 4]"));
    EXPECT_THAT(error_of([&] { pool(x, 2, 0, 0); }), HasSubstr(name));    // stride 0
    EXPECT_THAT(error_of([&] { pool(x, 2, -1, 0); }), HasSubstr(name));   // negative stride
    EXPECT_THAT(error_of([&] { pool(x, 3, 1, 2); }), HasSubstr("padding"));  // p > k/2
    EXPECT_THAT(error_of([&] { pool(x, 3, 1, -1); }), HasSubstr(name));
    e = error_of([&] { pool(x, 7, 1, 1); });  // padded length 6 < kernel 7
    EXPECT_THAT(e, HasSubstr(name));
    EXPECT_THAT(e, HasSubstr("too short"));
    EXPECT_THAT(error_of([&] { pool(iota({2, 0}), 2, 2, 1); }), HasSubstr(name));
    EXPECT_THAT(error_of([&] { pool(Variable(Tensor::arange(4, DType::I64).view({1, 4})), 2, 2, 0); }),
                HasSubstr(name));
    EXPECT_THAT(error_of([&] { pool(Variable(), 2, 2, 0); }), HasSubstr(name));
  }
}

// ---- upsampling -------------------------------------------------------------------------------------------

TEST(Resample, NearestForward) {
  Variable x = seq({1, 2, 3});
  EXPECT_EQ(vals(upsample_nearest(x, 2)), (V{1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(vals(upsample_nearest(x, 3)), (V{1, 1, 1, 2, 2, 2, 3, 3, 3}));
  EXPECT_EQ(vals(upsample_nearest(x, 1)), vals(x));
  EXPECT_EQ(upsample_nearest(iota({2, 3, 5}), 3).shape(), (Shape{2, 3, 15}));
  Variable xg = seq({1, 2, 3}, true);
  EXPECT_EQ(grad_of_sum(xg, upsample_nearest(xg, 3)), (V{3, 3, 3}));
}

TEST(Resample, LinearForwardMatchesPyTorch) {
  // F.interpolate(torch.tensor([[[1., 3., 7.]]]), scale_factor=2, mode="linear") (align_corners=False)
  Variable x = seq({1, 3, 7});
  EXPECT_EQ(vals(upsample_linear(x, 2)), (V{1, 1.5, 2.5, 4, 6, 7}));
  // factor 3: src = (j + 0.5)/3 − 0.5 → 0(clamped), 0, 1/3, 2/3, 1, 4/3, 5/3, 2, 7/3 (i1 clamped to 2)
  V want3{1, 1, 5.0 / 3, 7.0 / 3, 3, 13.0 / 3, 17.0 / 3, 7, 7};
  V got3 = vals(upsample_linear(x, 3));
  ASSERT_EQ(got3.size(), want3.size());
  for (size_t i = 0; i < want3.size(); ++i) EXPECT_NEAR(got3[i], want3[i], 1e-12) << "step " << i;
  EXPECT_EQ(vals(upsample_linear(seq({4}), 3)), (V{4, 4, 4}));  // L = 1
  EXPECT_EQ(vals(upsample_linear(x, 1)), vals(x));
  // f32 agrees.
  Variable xf(Tensor::from_vector<float>({1.f, 3.f, 7.f}, {1, 1, 3}));
  EXPECT_EQ(upsample_linear(xf, 2).data().to_vector<float>(), (std::vector<float>{1, 1.5f, 2.5f, 4, 6, 7}));
  // Every input step hands out total weight f (clamped end steps keep theirs): d sum(y)/dx = f.
  Variable xg = seq({1, 3, 7}, true);
  V g = grad_of_sum(xg, upsample_linear(xg, 3));
  for (double gi : g) EXPECT_NEAR(gi, 3.0, 1e-12);
}

// ---- downsampling -------------------------------------------------------------------------------------------

TEST(Resample, DownsampleIsAStridedView) {
  Variable x = iota({1, 2, 7});
  Variable d = downsample(x, 3);
  EXPECT_EQ(vals(d), (V{0, 3, 6, 7, 10, 13}));
  EXPECT_TRUE(d.data().shares_storage(x.data()));
  EXPECT_EQ(vals(downsample(x, 3, 2)), (V{2, 5, 9, 12}));
  EXPECT_EQ(vals(downsample(x, 2, 1)), (V{1, 3, 5, 8, 10, 12}));
  EXPECT_EQ(vals(downsample(x, 1)), vals(x));
}

TEST(Resample, Errors) {
  Variable x = iota({2, 3, 4});
  for (auto up : {&upsample_nearest, &upsample_linear}) {
    const char* name = up == &upsample_nearest ? "upsample_nearest" : "upsample_linear";
    std::string e = error_of([&] { up(x, 0); });
    EXPECT_THAT(e, HasSubstr(name));
    EXPECT_THAT(e, HasSubstr("[2, 3, 4]"));
    EXPECT_THAT(error_of([&] { up(iota({2, 0}), 2); }), HasSubstr(name));
    EXPECT_THAT(error_of([&] { up(Variable(Tensor::arange(3, DType::I64)), 2); }), HasSubstr(name));
    EXPECT_THAT(error_of([&] { up(Variable(), 2); }), HasSubstr(name));
  }
  EXPECT_THAT(error_of([&] { downsample(x, 0); }), HasSubstr("downsample"));
  EXPECT_THAT(error_of([&] { downsample(x, 2, 2); }), HasSubstr("downsample"));
  EXPECT_THAT(error_of([&] { downsample(x, 2, -1); }), HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_of([&] { downsample(iota({1, 1}), 3, 2); }), HasSubstr("downsample"));
}
