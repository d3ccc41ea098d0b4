// Tensor core: creation, views (no copies), contiguous(), copy with broadcasting and dtypes.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include "core/tensor.h"
#include "tests/test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using ::testing::HasSubstr;

TEST(Tensor, CreationAndMetadata) {
  Tensor t = Tensor::zeros({2, 3, 5}, DType::F64);
  EXPECT_EQ(t.dim(), 3);
  EXPECT_EQ(t.numel(), 30);
  EXPECT_EQ(t.strides(), (Shape{15, 5, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.describe(), "f64[2, 3, 5]");
  EXPECT_EQ(t.size(-1), 5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u) << "allocator must align to 64 bytes";
  Tensor a = Tensor::arange(5, DType::I64);
  EXPECT_EQ(a.to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  Tensor f = Tensor::full({2, 2}, 2.5);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{2.5f, 2.5f, 2.5f, 2.5f}));
  EXPECT_EQ(Tensor::scalar(3.0, DType::F64).item(), 3.0);
  EXPECT_THAT(error_of([] { Tensor::empty({2, -1}); }), HasSubstr("negative dimension"));
}

TEST(Tensor, TransposeAndPermuteAreViews) {
  Tensor t = Tensor::arange(6, DType::F32).view({2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_TRUE(tt.shares_storage(t));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.shape(), (Shape{3, 2}));
  EXPECT_EQ(tt.at<float>({2, 1}), 5.f);
  EXPECT_EQ(tt.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  Tensor c = tt.contiguous();
  EXPECT_FALSE(c.shares_storage(t));
  EXPECT_TRUE(c.is_contiguous());
  Tensor p = Tensor::arange(24, DType::F64).view({2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.at<double>({3, 1, 2}), 1 * 12 + 2 * 4 + 3);
  EXPECT_THAT(error_of([&] { p.permute({0, 0, 1}); }), HasSubstr("repeated"));
}

TEST(Tensor, SliceWithStepNarrowSelect) {
  Tensor t = Tensor::arange(20, DType::F32).view({2, 10});
  Tensor odd = t.slice(1, 1, INT64_MAX, 2);  // x[..., 1::2]
  EXPECT_TRUE(odd.shares_storage(t));
  EXPECT_EQ(odd.shape(), (Shape{2, 5}));
  EXPECT_EQ(odd.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11, 13, 15, 17, 19}));
  Tensor last3 = t.slice(1, -3, INT64_MAX);  // x[..., -3:]
  EXPECT_EQ(last3.to_vector<float>(), (std::vector<float>{7, 8, 9, 17, 18, 19}));
  Tensor empty = t.slice(1, 8, 2);
  EXPECT_EQ(empty.numel(), 0);
  Tensor n = t.narrow(1, 2, 3);
  EXPECT_EQ(n.to_vector<float>(), (std::vector<float>{2, 3, 4, 12, 13, 14}));
  EXPECT_THAT(error_of([&] { t.narrow(1, 8, 3); }), HasSubstr("narrow"));
  Tensor row = t.select(0, 1);
  EXPECT_EQ(row.shape(), (Shape{10}));
  EXPECT_EQ(row.at<float>({0}), 10.f);
  EXPECT_THAT(error_of([&] { t.slice(1, 0, 5, 0); }), HasSubstr("step must be positive"));
}

TEST(Tensor, ReshapeViewsWhenPossibleCopiesOtherwise) {
  Tensor t = Tensor::arange(24, DType::F32).view({2, 3, 4});
  Tensor r = t.reshape({6, -1});
  EXPECT_TRUE(r.shares_storage(t));
  EXPECT_EQ(r.shape(), (Shape{6, 4}));
  Tensor tt = t.transpose(1, 2);  // (2, 4, 3) with strides (12, 1, 4)
  EXPECT_THAT(error_of([&] { tt.view({2, 12}); }), HasSubstr("cannot be viewed"));
  Tensor copy = tt.reshape({2, 12});
  EXPECT_FALSE(copy.shares_storage(t));
  EXPECT_EQ(copy.at<float>({0, 1}), 4.f);  // tt[0][0][1] = t[0][1][0] = 4
  // Splitting a dimension of a strided tensor is still a view.
  Tensor split = tt.view({2, 2, 2, 3});
  EXPECT_TRUE(split.shares_storage(t));
  EXPECT_EQ(split.strides(), (Shape{12, 2, 1, 4}));
  EXPECT_EQ(split.at<float>({1, 1, 0, 2}), t.at<float>({1, 2, 2}));
  EXPECT_THAT(error_of([&] { t.reshape({5, -1}); }), HasSubstr("cannot reshape"));
  Tensor s = Tensor::scalar(4.0).reshape({1, 1});
  EXPECT_EQ(s.shape(), (Shape{1, 1}));
}

TEST(Tensor, ExpandCopyFillAndDtypeConversion) {
  Tensor bias = Tensor::from_vector<float>({1, 2, 3}, {1, 3, 1});
  Tensor big = Tensor::zeros({2, 3, 4});
  big.copy_(bias);  // broadcast copy
  EXPECT_EQ(big.at<float>({1, 2, 3}), 3.f);
  EXPECT_EQ(big.at<float>({0, 1, 0}), 2.f);
  Tensor e = bias.expand({2, 3, 4});
  EXPECT_EQ(e.strides()[0], 0);
  EXPECT_EQ(e.strides()[2], 0);
  EXPECT_THAT(error_of([&] { bias.expand({2, 4, 4}); }), HasSubstr("cannot expand"));
  Tensor d = big.to(DType::F64);
  EXPECT_EQ(d.dtype(), DType::F64);
  EXPECT_EQ(d.at<double>({1, 2, 3}), 3.0);
  Tensor i = Tensor::from_vector<double>({1.9, -2.5}, {2}).to(DType::I64);
  EXPECT_EQ(i.to_vector<int64_t>(), (std::vector<int64_t>{1, -2}));
  Tensor col = big.narrow(2, 1, 2);
  col.fill_(7.0);
  EXPECT_EQ(big.at<float>({1, 1, 2}), 7.f);
  EXPECT_EQ(big.at<float>({1, 1, 3}), 2.f);
  EXPECT_THAT(error_of([&] { big.data<double>(); }), HasSubstr("holds f32"));
  Tensor acc = Tensor::ones({2, 2});
  acc.add_(Tensor::full({2, 2}, 2.0));
  EXPECT_EQ(acc.to_vector<float>(), (std::vector<float>{3, 3, 3, 3}));
  EXPECT_THAT(error_of([&] { acc.add_(Tensor::ones({2, 3})); }), HasSubstr("add_"));
}

TEST(Tensor, BroadcastShapes) {
  EXPECT_EQ(broadcast_shapes({2, 3, 5}, {3, 1}, "t"), (Shape{2, 3, 5}));
  EXPECT_EQ(broadcast_shapes({}, {4}, "t"), (Shape{4}));
  EXPECT_THAT(error_of([] { broadcast_shapes({2, 3}, {4}, "myop"); }), HasSubstr("myop: shapes [2, 3] and [4]"));
}

TEST(Tensor, UniformAndNormalFromSeededGenerator) {
  Generator g1(42), g2(42);
  Tensor a = Tensor::uniform({1000}, -2.0, 3.0, DType::F32, g1);
  Tensor b = Tensor::uniform({1000}, -2.0, 3.0, DType::F32, g2);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  double mn = 1e9, mx = -1e9, mean = 0;
  for (float v : a.to_vector<float>()) mn = std::min<double>(mn, v), mx = std::max<double>(mx, v), mean += v / 1000.0;
  EXPECT_GE(mn, -2.0);
  EXPECT_LT(mx, 3.0);
  EXPECT_NEAR(mean, 0.5, 0.15);
  Tensor n = Tensor::randn({20000}, DType::F64, g1);
  double m = 0, v = 0;
  for (double x : n.to_vector<double>()) m += x / 20000.0;
  for (double x : n.to_vector<double>()) v += (x - m) * (x - m) / 20000.0;
  EXPECT_NEAR(m, 0.0, 0.03);
  EXPECT_NEAR(v, 1.0, 0.04);
}
