// Forward values and errors of the first ops: elementwise with broadcasting, activations,
// reductions, matmul / linear; an MLP gradcheck. Per-op gradchecks live in tests/op_cases.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "gradcheck.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;
using V = std::vector<Variable>;

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

TEST(BasicOps, ActivationForwardValues) {
  Variable x(Tensor::from_vector<double>({-2.0, 0.0, 3.0}, {3}));
  EXPECT_EQ(relu(x).data().to_vector<double>(), (std::vector<double>{0.0, 0.0, 3.0}));
  EXPECT_EQ(leaky_relu(x, 0.01).data().to_vector<double>(), (std::vector<double>{-0.02, 0.0, 3.0}));
  EXPECT_DOUBLE_EQ(sigmoid(x).data().to_vector<double>()[1], 0.5);
  EXPECT_DOUBLE_EQ(tanh(x).data().to_vector<double>()[2], std::tanh(3.0));
}

TEST(BasicOps, ReductionsForward) {
  Tensor t = Tensor::arange(24, DType::F64).view({2, 3, 4});
  Variable x(t);
  EXPECT_DOUBLE_EQ(sum(x).item(), 276.0);
  EXPECT_DOUBLE_EQ(mean(x).item(), 11.5);
  EXPECT_EQ(sum(x, 1).data().shape(), (Shape{2, 4}));
  EXPECT_EQ(sum(x, 1).data().at<double>({1, 3}), 15 + 19 + 23);
  EXPECT_EQ(sum(x, -1, true).data().shape(), (Shape{2, 3, 1}));
  EXPECT_DOUBLE_EQ(mean(x, 2).data().at<double>({0, 1}), 5.5);
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

// With several threads the CPU gemm splits mid-sized products into one column (or row) slab per
// thread, each a single-threaded sgemm on pointer-offset operands. Every operand layout
// (transposed operands, a strided C inside a wider buffer, alpha/beta) must agree with a
// double-precision product, on one thread and on two. (The two are not bit-identical: a slab's
// edge tiles take other micro-kernel paths, so float rounding differs in the last bits.)
TEST(BasicOps, GemmSplitOverThreadsMatchesDouble) {
  const int saved = omp_get_max_threads();
  Generator gen(3);
  for (auto [M, N, K] : {std::array<int64_t, 3>{200, 210, 90}, {300, 40, 70}, {37, 1000, 20}}) {
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        // A and B as stored: op(A) = ta ? Aᵀ : A is (M, K), op(B) is (K, N)
        Tensor A = Tensor::uniform(ta ? Shape{K, M} : Shape{M, K}, -1, 1, DType::F32, gen);
        Tensor B = Tensor::uniform(tb ? Shape{N, K} : Shape{K, N}, -1, 1, DType::F32, gen);
        Tensor C0 = Tensor::uniform({M, N + 7}, -1, 1, DType::F32, gen);  // C: a (M, N) view, row stride N + 7
        auto run = [&](int threads) {
          omp_set_num_threads(threads);
          Tensor C = C0.clone();
          Tensor Cv = C.narrow(1, 3, N);
          tensor_ops::gemm(A, ta, B, tb, Cv, 0.5, 0.25);
          return C;
        };
        Tensor ref = C0.to(DType::F64);  // 0.5 · op(A)·op(B) + 0.25 · C0 on the view, C0 elsewhere
        Tensor refv = ref.narrow(1, 3, N);
        tensor_ops::gemm(A.to(DType::F64), ta, B.to(DType::F64), tb, refv, 0.5, 0.25);
        for (int threads : {1, 2})
          EXPECT_LT(max_abs_diff(run(threads), ref), 5e-6 * double(K))
              << M << "x" << N << "x" << K << " ta " << ta << " tb " << tb << " threads " << threads;
      }
  }
  omp_set_num_threads(saved);
}

TEST(BasicOps, MlpEndToEndGradcheck) {
  // y = tanh(W·x + b), the worked example of docs/architecture.md, plus a second layer.
  EXPECT_TRUE(gradcheck("mlp",
                        [](V v) { return linear(tanh(linear(v[0], v[1], v[2])), v[3]); },
                        {rand64({5, 3}, 1), rand64({4, 3}, 2), rand64({4}, 3), rand64({2, 4}, 4)}));
}
