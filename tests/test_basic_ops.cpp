// Gradient checks (double precision, central differences) and forward values of the first ops:
// elementwise with broadcasting, unary math, activations, reductions, matmul / linear, views.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "gradcheck.h"
#include "ops/ops.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;
using V = std::vector<Variable>;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}
}  // namespace

TEST(BasicOps, ElementwiseForwardValuesWithBroadcast) {
  Variable x(Tensor::arange(6, DType::F32).view({1, 2, 3}));
  Variable b(Tensor::from_vector<float>({10, 20}, {2, 1}));  // per-channel bias over (N, C, T)
  EXPECT_EQ((x + b).data().to_vector<float>(), (std::vector<float>{10, 11, 12, 23, 24, 25}));
  EXPECT_EQ((x - b).data().to_vector<float>(), (std::vector<float>{-10, -9, -8, -17, -16, -15}));
  EXPECT_EQ((x * b).data().to_vector<float>(), (std::vector<float>{0, 10, 20, 60, 80, 100}));
  EXPECT_EQ((x / b).data().to_vector<float>()[5], 5.f / 20.f);
  EXPECT_EQ((x * 2.0 + 1.0).data().to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ((1.0 - x).data().to_vector<float>()[2], -1.f);
  EXPECT_NEAR(exp(x).data().at<float>({0, 1, 2}), std::exp(5.f), 1e-3);
  EXPECT_THAT(error_of([&] { x + Variable(Tensor::ones({4})); }), HasSubstr("add: shapes [1, 2, 3] and [4]"));
  EXPECT_THAT(error_of([&] { x * Variable(Tensor::ones({3}, DType::F64)); }), HasSubstr("mul: dtype mismatch"));
  EXPECT_THAT(error_of([&] { exp(Variable(Tensor::zeros({3}, DType::I64))); }), HasSubstr("exp"));
}

TEST(BasicOps, GradcheckBinaryWithBroadcasting) {
  const Shape nct{3, 4, 7}, bias{4, 1}, scalar{}, row{7};
  for (auto [name, fn] : std::vector<std::pair<std::string, std::function<Variable(V)>>>{
           {"add", [](V v) { return v[0] + v[1]; }},
           {"sub", [](V v) { return v[0] - v[1]; }},
           {"mul", [](V v) { return v[0] * v[1]; }},
           {"div", [](V v) { return v[0] / v[1]; }}}) {
    for (const Shape& other : {nct, bias, scalar, row}) {
      SCOPED_TRACE(name + " with " + shape_str(other));
      // Keep divisors away from 0.
      EXPECT_TRUE(gradcheck(name, fn, {rand64(nct, 1), rand64(other, 2, 0.5, 2.0)}));
      EXPECT_TRUE(gradcheck(name + " (broadcast first)", fn, {rand64(other, 3, 0.5, 2.0), rand64(nct, 4, 0.5, 2.0)}));
    }
  }
}

TEST(BasicOps, GradcheckUnaryAndActivations) {
  const Shape s{2, 3, 5};
  EXPECT_TRUE(gradcheck("neg", [](V v) { return -v[0]; }, {rand64(s, 1)}));
  EXPECT_TRUE(gradcheck("exp", [](V v) { return exp(v[0]); }, {rand64(s, 2)}));
  EXPECT_TRUE(gradcheck("log", [](V v) { return log(v[0]); }, {rand64(s, 3, 0.2, 3.0)}));
  EXPECT_TRUE(gradcheck("tanh", [](V v) { return tanh(v[0]); }, {rand64(s, 4, -2, 2)}));
  EXPECT_TRUE(gradcheck("sigmoid", [](V v) { return sigmoid(v[0]); }, {rand64(s, 5, -3, 3)}));
  // relu / leaky_relu: keep inputs away from the kink at 0 where the derivative jumps.
  Tensor away = rand64(s, 6, 0.1, 1.0);
  Tensor sign = rand64(s, 7);
  for (int64_t i = 0; i < away.numel(); ++i)
    if (sign.data<double>()[i] < 0) away.data<double>()[i] *= -1;
  EXPECT_TRUE(gradcheck("relu", [](V v) { return relu(v[0]); }, {away}));
  EXPECT_TRUE(gradcheck("leaky_relu 0.01", [](V v) { return leaky_relu(v[0], 0.01); }, {away}));
  EXPECT_TRUE(gradcheck("leaky_relu 0.3", [](V v) { return leaky_relu(v[0], 0.3); }, {away}));
  EXPECT_TRUE(gradcheck("scalar ops", [](V v) { return (v[0] * 3.0 + 2.0) / 4.0 - 1.0; }, {rand64(s, 8)}));
}

TEST(BasicOps, ActivationForwardValues) {
  Variable x(Tensor::from_vector<double>({-2.0, 0.0, 3.0}, {3}));
  EXPECT_EQ(relu(x).data().to_vector<double>(), (std::vector<double>{0.0, 0.0, 3.0}));
  EXPECT_EQ(leaky_relu(x, 0.01).data().to_vector<double>(), (std::vector<double>{-0.02, 0.0, 3.0}));
  EXPECT_DOUBLE_EQ(sigmoid(x).data().to_vector<double>()[1], 0.5);
  EXPECT_DOUBLE_EQ(tanh(x).data().to_vector<double>()[2], std::tanh(3.0));
}

TEST(BasicOps, ReductionsForwardAndGradcheck) {
  Tensor t = Tensor::arange(24, DType::F64).view({2, 3, 4});
  Variable x(t);
  EXPECT_DOUBLE_EQ(sum(x).item(), 276.0);
  EXPECT_DOUBLE_EQ(mean(x).item(), 11.5);
  EXPECT_EQ(sum(x, 1).data().shape(), (Shape{2, 4}));
  EXPECT_EQ(sum(x, 1).data().at<double>({1, 3}), 15 + 19 + 23);
  EXPECT_EQ(sum(x, -1, true).data().shape(), (Shape{2, 3, 1}));
  EXPECT_DOUBLE_EQ(mean(x, 2).data().at<double>({0, 1}), 5.5);
  const Shape s{3, 5, 7};
  EXPECT_TRUE(gradcheck("sum", [](V v) { return sum(v[0]); }, {rand64(s, 1)}));
  EXPECT_TRUE(gradcheck("mean", [](V v) { return mean(v[0]); }, {rand64(s, 2)}));
  for (int d : {0, 1, 2, -1}) {
    EXPECT_TRUE(gradcheck("sum dim", [d](V v) { return sum(v[0], d); }, {rand64(s, 3)}));
    EXPECT_TRUE(gradcheck("mean dim keepdim", [d](V v) { return mean(v[0], d, true); }, {rand64(s, 4)}));
  }
}

TEST(BasicOps, MatmulForwardAndTransposedViewsGoToBlas) {
  Variable a(Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3}));
  Variable b(Tensor::from_vector<float>({1, 0, 0, 1, 1, 1}, {3, 2}));
  EXPECT_EQ(matmul(a, b).data().to_vector<float>(), (std::vector<float>{4, 5, 10, 11}));
  // aᵀ·a via a transposed view (no copy): (3,2)·(2,3)
  Variable at = transpose(a, 0, 1);
  EXPECT_FALSE(at.data().is_contiguous());
  EXPECT_EQ(matmul(at, a).data().to_vector<float>(), (std::vector<float>{17, 22, 27, 22, 29, 36, 27, 36, 45}));
  EXPECT_THAT(error_of([&] { matmul(a, a); }), HasSubstr("matmul: cannot multiply f32[2, 3] by f32[2, 3]"));
  Variable W(Tensor::from_vector<float>({1, 1, 1, 0, 0, 1}, {2, 3}));
  Variable bias(Tensor::from_vector<float>({0.5f, -1.f}, {2}));
  EXPECT_EQ(linear(a, W, bias).data().to_vector<float>(), (std::vector<float>{6.5, 2, 15.5, 5}));
  EXPECT_THAT(error_of([&] { linear(a, b); }), HasSubstr("linear"));
}

TEST(BasicOps, GradcheckMatmulAndLinear) {
  EXPECT_TRUE(gradcheck("matmul 2d", [](V v) { return matmul(v[0], v[1]); }, {rand64({5, 7}, 1), rand64({7, 3}, 2)}));
  EXPECT_TRUE(gradcheck("matmul 3d@2d", [](V v) { return matmul(v[0], v[1]); },
                        {rand64({2, 5, 7}, 3), rand64({7, 3}, 4)}));
  EXPECT_TRUE(gradcheck("matmul batched", [](V v) { return matmul(v[0], v[1]); },
                        {rand64({3, 5, 4}, 5), rand64({3, 4, 2}, 6)}));
  EXPECT_TRUE(gradcheck("matmul transposed operands",
                        [](V v) { return matmul(transpose(v[0], 0, 1), transpose(v[1], 0, 1)); },
                        {rand64({7, 5}, 7), rand64({3, 7}, 8)}));
  EXPECT_TRUE(gradcheck("linear", [](V v) { return linear(v[0], v[1], v[2]); },
                        {rand64({3, 5, 7}, 9), rand64({4, 7}, 10), rand64({4}, 11)}));
  EXPECT_TRUE(gradcheck("linear no bias on (N, T, C) from a transposed view",
                        [](V v) { return linear(transpose(v[0], 1, 2), v[1]); },
                        {rand64({2, 7, 5}, 12), rand64({3, 7}, 13)}));
}

TEST(BasicOps, GradcheckViews) {
  const Shape s{3, 4, 7};
  EXPECT_TRUE(gradcheck("reshape", [](V v) { return reshape(v[0], {6, -1}) * reshape(v[0], {6, 14}); }, {rand64(s, 1)}));
  EXPECT_TRUE(gradcheck("transpose", [](V v) { return transpose(v[0], 1, 2); }, {rand64(s, 2)}));
  EXPECT_TRUE(gradcheck("permute", [](V v) { return permute(v[0], {2, 0, 1}); }, {rand64(s, 3)}));
  EXPECT_TRUE(gradcheck("slice step 2 from 1", [](V v) { return slice(v[0], -1, 1, INT64_MAX, 2); }, {rand64(s, 4)}));
  EXPECT_TRUE(gradcheck("slice step 2 from 0", [](V v) { return slice(v[0], 2, 0, INT64_MAX, 2); }, {rand64(s, 5)}));
  EXPECT_TRUE(gradcheck("narrow", [](V v) { return narrow(v[0], 1, 1, 2); }, {rand64(s, 6)}));
  EXPECT_TRUE(gradcheck("unsqueeze/squeeze", [](V v) { return squeeze(unsqueeze(v[0], 1), 1) * 2.0; }, {rand64(s, 7)}));
  // A view used twice: gradients from both uses add.
  EXPECT_TRUE(gradcheck("two overlapping slices",
                        [](V v) { return slice(v[0], 2, 0, 5) * slice(v[0], 2, 2, 7); }, {rand64(s, 8)}));
}

TEST(BasicOps, MlpEndToEndGradcheck) {
  // y = tanh(W·x + b), the worked example of docs/architecture.md, plus a second layer.
  EXPECT_TRUE(gradcheck("mlp",
                        [](V v) { return linear(tanh(linear(v[0], v[1], v[2])), v[3]); },
                        {rand64({5, 3}, 1), rand64({4, 3}, 2), rand64({4}, 3), rand64({2, 4}, 4)}));
}
