// Autograd semantics: accumulation, diamonds, no-grad, detach, freed graphs, leaf vs non-leaf.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ops/ops.h"
#include "tests/test_util.h"

using namespace seqnet;
using seqnet::testing::error_of;
using ::testing::HasSubstr;

namespace {
Variable leaf(std::vector<double> v, Shape s) { return Variable(Tensor::from_vector<double>(v, s), true); }
}  // namespace

TEST(Autograd, TensorUsedTwiceAccumulates) {
  Variable x = leaf({3.0}, {});
  Variable y = x * x + x;  // dy/dx = 2x + 1 = 7
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 7.0);
}

TEST(Autograd, DiamondGraph) {
  // a → b = 2a, c = a², d = b·c → dd/da = 2·a² + 2a·2a = 6a² at a = 2 → 24
  Variable a = leaf({2.0}, {});
  Variable b = a * 2.0;
  Variable c = a * a;
  Variable d = b * c;
  d.backward();
  EXPECT_DOUBLE_EQ(a.grad().item(), 24.0);
}

TEST(Autograd, GradAccumulatesAcrossBackwardCallsUntilZeroGrad) {
  Variable w = leaf({1.0, 2.0}, {2});
  sum(w * 3.0).backward();
  sum(w * 3.0).backward();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{6.0, 6.0}));
  w.zero_grad();
  EXPECT_EQ(w.grad().to_vector<double>(), (std::vector<double>{0.0, 0.0}));
}

TEST(Autograd, NoGradGuardRecordsNothing) {
  Variable x = leaf({1.0, 2.0}, {2});
  {
    NoGradGuard ng;
    Variable y = x * x;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    EXPECT_FALSE(grad_enabled());
  }
  EXPECT_TRUE(grad_enabled());
  EXPECT_TRUE((x * x).requires_grad());
}

TEST(Autograd, DetachStopsGradient) {
  Variable x = leaf({3.0}, {});
  Variable y = x * x.detach();  // d/dx = x (detached factor is a constant) = 3
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 3.0);
  Variable d = x.detach();
  EXPECT_TRUE(d.data().shares_storage(x.data()));
  EXPECT_FALSE(d.requires_grad());
}

TEST(Autograd, SecondBackwardThroughFreedGraphIsAClearError) {
  Variable x = leaf({1.0, 2.0}, {2});
  Variable y = sum(tanh(x));
  y.backward();
  EXPECT_THAT(error_of([&] { y.backward(); }), HasSubstr("already freed"));
  // With retain_graph the second pass works and accumulates.
  Variable z = sum(x * x);
  z.backward(true);
  z.backward();
  EXPECT_EQ(x.grad().to_vector<double>()[1], (1.0 - std::pow(std::tanh(2.0), 2)) + 8.0);
}

TEST(Autograd, NonScalarBackwardNeedsGradOutput) {
  Variable x = leaf({1.0, 2.0}, {2});
  Variable y = x * 2.0;
  EXPECT_THAT(error_of([&] { y.backward(); }), HasSubstr("needs a scalar"));
  EXPECT_THAT(error_of([&] { y.backward(Tensor::ones({3}, DType::F64)); }), HasSubstr("grad_output"));
  y.backward(Tensor::from_vector<double>({1.0, -1.0}, {2}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2.0, -2.0}));
}

TEST(Autograd, LeafVersusNonLeafGrads) {
  Variable x = leaf({1.0, 2.0}, {2});
  Variable h = x * 3.0;
  Variable k = x * 5.0;
  k.retain_grad();
  Variable y = sum(h * k);
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(h.is_leaf());
  y.backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(h.grad().defined()) << "non-leaf grads are not kept unless retain_grad()";
  ASSERT_TRUE(k.grad().defined());
  EXPECT_EQ(k.grad().to_vector<double>(), (std::vector<double>{3.0, 6.0}));  // = h
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{30.0, 60.0}));  // 2·15·x
  EXPECT_THAT(error_of([&] { h.set_requires_grad(false); }), HasSubstr("only leaves"));
}

TEST(Autograd, InputsWithoutRequiresGradGetNoGrad) {
  Variable x = leaf({1.0}, {});
  Variable c(Tensor::from_vector<double>({4.0}, {}), false);
  (x * c).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 4.0);
  EXPECT_FALSE(c.grad().defined());
  EXPECT_THAT(error_of([&] { (c * c).backward(); }), HasSubstr("does not require grad"));
  EXPECT_THAT(error_of([] { Variable(Tensor::zeros({2}, DType::I64), true); }), HasSubstr("floating"));
}

TEST(Autograd, SharedGradientBufferIsNotAliasedIntoLeaves) {
  // add's backward hands the same tensor to both inputs; accumulation must not corrupt it.
  Variable a = leaf({1.0, 1.0}, {2});
  Variable b = leaf({1.0, 1.0}, {2});
  Variable s = a + b;
  Variable y = sum(s * Variable(Tensor::from_vector<double>({2.0, 3.0}, {2})) + a);
  y.backward();
  EXPECT_EQ(a.grad().to_vector<double>(), (std::vector<double>{3.0, 4.0}));
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2.0, 3.0}));
  EXPECT_FALSE(a.grad().shares_storage(b.grad()));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Variable x = leaf({0.5}, {});
  Variable y = x;
  for (int i = 0; i < 20000; ++i) y = y * 1.0;
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
}
