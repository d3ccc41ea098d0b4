// Time-axis plumbing (ops/time.h) and the gated unit (ops/activation.h): hand-computed forwards,
// views that really are views, a composed-chain gradcheck and clear errors (per-op gradchecks on
// awkward shapes are cases in tests/op_cases.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "ops/activation.h"
#include "ops/elementwise.h"
#include "ops/time.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

using V = std::vector<double>;

}  // namespace

// ---- pad_time -------------------------------------------------------------------------------------------

TEST(TimeOps, PadTimeForward) {
  Variable x = iota({1, 2, 3});
  Variable y = pad_time(x, 2, 1);
  EXPECT_EQ(y.shape(), (Shape{1, 2, 6}));
  EXPECT_EQ(vals(y), (V{0, 0, 0, 1, 2, 0, 0, 0, 3, 4, 5, 0}));
  EXPECT_EQ(vals(pad_time(x, 0, 0)), vals(x));
  EXPECT_EQ(pad_time(x, 4).shape(), (Shape{1, 2, 7}));  // causal padding: front only
}

TEST(TimeOps, PadTimeErrors) {
  Variable x = iota({2, 3, 4});
  EXPECT_THAT(error_of([&] { pad_time(x, -1, 0); }), HasSubstr("pad_time"));
  EXPECT_THAT(error_of([&] { pad_time(x, 0, -2); }), HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_of([&] { pad_time(Variable(Tensor::scalar(1.0)), 1, 1); }), HasSubstr("pad_time"));
  EXPECT_THAT(error_of([&] { pad_time(Variable(), 1, 1); }), HasSubstr("pad_time"));
}

// ---- crops ------------------------------------------------------------------------------------------------

TEST(TimeOps, CropForwardAndViews) {
  Variable x = iota({1, 2, 7});  // rows 0..6 and 7..13
  Variable c = crop(x, 4);
  EXPECT_EQ(vals(c), (V{3, 4, 5, 6, 10, 11, 12, 13}));
  EXPECT_TRUE(c.data().shares_storage(x.data()));
  EXPECT_EQ(vals(crop(x, iota({5, 3}))), (V{4, 5, 6, 11, 12, 13}));  // target's last dim = 3
  EXPECT_EQ(vals(crop(x, 7)), vals(x));
  EXPECT_EQ(crop(x, 0).shape(), (Shape{1, 2, 0}));

  Variable b = crop_both(x, 3);
  EXPECT_EQ(vals(b), (V{2, 3, 4, 9, 10, 11}));
  EXPECT_TRUE(b.data().shares_storage(x.data()));

  Variable k = crop_back(x, 2);
  EXPECT_EQ(vals(k), (V{0, 1, 7, 8}));
  EXPECT_TRUE(k.data().shares_storage(x.data()));

  Variable fb = crop_front_back(x, 1, 2);
  EXPECT_EQ(vals(fb), (V{1, 2, 3, 4, 8, 9, 10, 11}));
  EXPECT_TRUE(fb.data().shares_storage(x.data()));
  EXPECT_EQ(vals(crop_front_back(x, 2, 0)), vals(crop(x, 5)));
}

TEST(TimeOps, CropErrors) {
  Variable x = iota({2, 3, 7});
  std::string e = error_of([&] { crop(x, 8); });
  EXPECT_THAT(e, HasSubstr("crop"));
  EXPECT_THAT(e, HasSubstr("[2, 3, 7]"));
  EXPECT_THAT(error_of([&] { crop(x, -1); }), HasSubstr("crop"));
  e = error_of([&] { crop(x, iota({1, 9})); });
  EXPECT_THAT(e, HasSubstr("crop"));
  EXPECT_THAT(e, HasSubstr("[1, 9]"));
  e = error_of([&] { crop_both(x, 4); });  // removes 3 steps: odd
  EXPECT_THAT(e, HasSubstr("crop_both"));
  EXPECT_THAT(e, HasSubstr("even"));
  EXPECT_THAT(error_of([&] { crop_both(x, 9); }), HasSubstr("crop_both"));
  EXPECT_THAT(error_of([&] { crop_back(x, 8); }), HasSubstr("crop_back"));
  EXPECT_THAT(error_of([&] { crop_front_back(x, 4, 4); }), HasSubstr("crop_front_back"));
  EXPECT_THAT(error_of([&] { crop_front_back(x, -1, 0); }), HasSubstr("crop_front_back"));
}

// ---- concat ---------------------------------------------------------------------------------------------

TEST(TimeOps, ConcatForward) {
  Variable a = iota({2, 1, 3});                                               // 0..5
  Variable b = iota({2, 2, 3});                                               // 0..11
  Variable c = concat({a, b}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 3, 3}));
  EXPECT_EQ(vals(c), (V{0, 1, 2, 0, 1, 2, 3, 4, 5, /**/ 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  Variable t = concat({a, iota({2, 1, 2})}, -1);  // along time
  EXPECT_EQ(vals(t), (V{0, 1, 2, 0, 1, 3, 4, 5, 2, 3}));
  EXPECT_EQ(vals(concat({a}, 1)), vals(a));
}

TEST(TimeOps, ConcatErrors) {
  Variable a = iota({2, 3, 5});
  std::string e = error_of([&] { concat({a, iota({2, 3, 4})}, 1); });
  EXPECT_THAT(e, HasSubstr("concat"));
  EXPECT_THAT(e, HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_of([&] { concat({}, 1); }), HasSubstr("concat"));
  EXPECT_THAT(error_of([&] { concat({a, iota({2, 3})}, 1); }), HasSubstr("concat"));
  EXPECT_THAT(error_of([&] { concat({a, a}, 3); }), HasSubstr("concat"));
  EXPECT_THAT(error_of([&] { concat({a, Variable(Tensor::zeros({2, 3, 5}))}, 1); }), HasSubstr("dtype"));
  EXPECT_THAT(error_of([&] { concat({a, Variable()}, 1); }), HasSubstr("concat"));
}

// ---- decimation -----------------------------------------------------------------------------------------

TEST(TimeOps, DecimateForwardAndViews) {
  Variable x7 = iota({1, 1, 7}), x6 = iota({1, 1, 6});
  Variable d0 = decimate(x7, 0), d1 = decimate(x7, 1);
  EXPECT_EQ(vals(d0), (V{0, 2, 4, 6}));
  EXPECT_EQ(vals(d1), (V{1, 3, 5}));
  EXPECT_TRUE(d0.data().shares_storage(x7.data()));
  EXPECT_TRUE(d1.data().shares_storage(x7.data()));
  EXPECT_EQ(d1.data().stride(-1), 2);
  // Causal phase start = (T − 1) mod 2 keeps the newest step.
  EXPECT_EQ(vals(decimate_causal(x7)), (V{0, 2, 4, 6}));
  EXPECT_EQ(vals(decimate_causal(x6)), (V{1, 3, 5}));
  EXPECT_EQ(vals(decimate_causal(iota({1, 1, 1}))), (V{0}));
  EXPECT_EQ(vals(decimate_causal(iota({1, 1, 2}))), (V{1}));
  EXPECT_EQ(vals(decimate(iota({2, 4}), 0)), (V{0, 2, 4, 6}));  // (C, T) works too
}

TEST(TimeOps, DecimateErrors) {
  EXPECT_THAT(error_of([] { decimate(iota({1, 2, 5}), 2); }), HasSubstr("decimate"));
  EXPECT_THAT(error_of([] { decimate(iota({1, 2, 1}), 1); }), HasSubstr("[1, 2, 1]"));
  EXPECT_THAT(error_of([] { decimate_causal(iota({1, 2, 0})); }), HasSubstr("decimate_causal"));
}

// ---- interleave / duplicate ---------------------------------------------------------------------------------

TEST(TimeOps, InterleaveAndDuplicateForward) {
  Variable x(Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3}));
  Variable y(Tensor::from_vector<double>({10, 20, 40, 50}, {2, 2}));
  EXPECT_EQ(vals(interleave(x, y)), (V{1, 10, 2, 20, 3, 4, 40, 5, 50, 6}));  // length 2L − 1
  Variable y3(Tensor::from_vector<double>({10, 20, 30, 40, 50, 60}, {2, 3}));
  EXPECT_EQ(vals(interleave(x, y3)), (V{1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60}));  // length 2L
  EXPECT_EQ(vals(duplicate(x)), (V{1, 1, 2, 2, 3, 4, 4, 5, 5, 6}));
  EXPECT_EQ(vals(duplicate(x, true)), (V{1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6}));
  Variable one(Tensor::from_vector<double>({7, 8}, {1, 2, 1}));
  EXPECT_EQ(vals(duplicate(one)), (V{7, 8}));
  EXPECT_EQ(vals(duplicate(one, true)), (V{7, 7, 8, 8}));
  EXPECT_EQ(duplicate(iota({2, 3, 5})).shape(), (Shape{2, 3, 9}));
}

TEST(TimeOps, InterleaveErrors) {
  Variable x = iota({2, 3, 5});
  std::string e = error_of([&] { interleave(x, iota({2, 3, 3})); });
  EXPECT_THAT(e, HasSubstr("interleave"));
  EXPECT_THAT(e, HasSubstr("[2, 3, 3]"));
  EXPECT_THAT(error_of([&] { interleave(x, iota({2, 3, 6})); }), HasSubstr("interleave"));
  EXPECT_THAT(error_of([&] { interleave(x, iota({2, 2, 4})); }), HasSubstr("interleave"));
  EXPECT_THAT(error_of([&] { interleave(x, iota({3, 4})); }), HasSubstr("interleave"));
  EXPECT_THAT(error_of([&] { interleave(x, Variable(Tensor::zeros({2, 3, 4}))); }), HasSubstr("dtype"));
  EXPECT_THAT(error_of([] { duplicate(iota({2, 0})); }), HasSubstr("duplicate"));
}

// ---- layout --------------------------------------------------------------------------------------------------

TEST(TimeOps, LayoutViews) {
  Variable ntc = iota({2, 5, 3});  // (N, T, C)
  Variable nct = to_nct(ntc);
  EXPECT_EQ(nct.shape(), (Shape{2, 3, 5}));
  EXPECT_TRUE(nct.data().shares_storage(ntc.data()));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t t = 0; t < 5; ++t) EXPECT_EQ(nct.data().at<double>({n, c, t}), ntc.data().at<double>({n, t, c}));
  Variable back = to_ntc(nct);
  EXPECT_EQ(back.shape(), ntc.shape());
  EXPECT_EQ(vals(back), vals(ntc));
  EXPECT_TRUE(back.data().shares_storage(ntc.data()));
  EXPECT_THAT(error_of([] { to_nct(iota({5, 3})); }), HasSubstr("to_nct"));
  EXPECT_THAT(error_of([] { to_ntc(iota({1, 5, 3, 2})); }), HasSubstr("[1, 5, 3, 2]"));
}

// A residual-Seq-U-Net-like chain through several ops (pad, decimate, duplicate, crop, concat).
TEST(TimeOps, ComposedChainGradcheck) {
  auto f = [](const std::vector<Variable>& v) {
    Variable h = decimate_causal(pad_time(v[0], 2));  // T 7 → 9 → 5
    Variable u = crop(duplicate(h), v[0]);            // 9 → 7
    return concat({u, v[0]}, 1);
  };
  EXPECT_TRUE(gradcheck("chain", f, {rand64({2, 2, 7}, 28)}));
}

// ---- gated unit ----------------------------------------------------------------------------------------------

TEST(Gated, Forward) {
  std::vector<double> fv{-2.0, -0.5, 0.0, 0.3, 1.5, 4.0}, gv{1.0, -3.0, 2.0, 0.0, -0.7, 0.2};
  Variable f(Tensor::from_vector<double>(fv, {1, 2, 3})), g(Tensor::from_vector<double>(gv, {1, 2, 3}));
  std::vector<double> y = vals(gated(f, g));
  for (size_t i = 0; i < fv.size(); ++i) EXPECT_NEAR(y[i], std::tanh(fv[i]) / (1 + std::exp(-gv[i])), 1e-15);
  EXPECT_DOUBLE_EQ(y[3], std::tanh(0.3) * 0.5);  // σ(0) = 1/2
  EXPECT_EQ(y[2], 0.0);                          // tanh(0) = 0
  // f32 agrees with the unfused composition.
  Variable f32(Tensor::from_vector<float>({-1.f, 0.5f, 2.f, 3.f}, {1, 1, 4}));
  Variable g32(Tensor::from_vector<float>({0.5f, -1.f, 0.f, 8.f}, {1, 1, 4}));
  std::vector<float> a = gated(f32, g32).data().to_vector<float>();
  std::vector<float> b = (tanh(f32) * sigmoid(g32)).data().to_vector<float>();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f);
}

TEST(Gated, Errors) {
  std::string e = error_of([] { gated(iota({2, 3, 5}), iota({2, 3, 4})); });
  EXPECT_THAT(e, HasSubstr("gated"));
  EXPECT_THAT(e, HasSubstr("[2, 3, 4]"));
  EXPECT_THAT(error_of([] { gated(iota({2, 3}), Variable(Tensor::zeros({2, 3}))); }), HasSubstr("gated"));
  EXPECT_THAT(error_of([] { gated(iota({2, 3}), Variable()); }), HasSubstr("gated"));
  Variable i64(Tensor::arange(4, DType::I64));
  EXPECT_THAT(error_of([&] { gated(i64, i64); }), HasSubstr("gated"));
}
