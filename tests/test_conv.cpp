// tests/test_conv.cpp — conv1d and conv_transpose1d against nested-loop references, hand-computed
// examples and argument errors (their gradchecks are cases in tests/op_cases.cpp).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <string>
#include <vector>

#include "ops/conv.h"
#include "ops/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

using namespace seqnet;
using namespace seqnet::testing;
using ::testing::HasSubstr;

namespace {

struct ConvCfg {
  int64_t N, C_in, C_out, T, K, s = 1, d = 1, pf = 0, pb = 0;
  bool bias = true;
};

std::string cfg_str(const ConvCfg& c) {
  return fmt::format("N={} C_in={} C_out={} T={} K={} s={} d={} pf={} pb={} bias={}", c.N, c.C_in, c.C_out, c.T, c.K,
                     c.s, c.d, c.pf, c.pb, c.bias);
}

// Plain nested loops, in double, straight from spec/MODELS.md §1.
Tensor ref_conv1d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t d, int64_t pf, int64_t pb) {
  const int64_t N = x.size(0), C = x.size(1), T = x.size(2), O = w.size(0), K = w.size(2);
  const int64_t T_out = (T + pf + pb - d * (K - 1) - 1) / s + 1;
  const auto xv = x.to(DType::F64).contiguous().to_vector<double>();
  const auto wv = w.to(DType::F64).contiguous().to_vector<double>();
  std::vector<double> bv(size_t(O), 0.0);
  if (b.defined()) bv = b.to(DType::F64).contiguous().to_vector<double>();
  std::vector<double> y(size_t(N * O * T_out));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t t = 0; t < T_out; ++t) {
        double acc = bv[size_t(o)];
        for (int64_t c = 0; c < C; ++c)
          for (int64_t m = 0; m < K; ++m) {
            const int64_t i = s * t + d * m - pf;  // index into the unpadded input
            if (i < 0 || i >= T) continue;
            acc += wv[size_t((o * C + c) * K + m)] * xv[size_t((n * C + c) * T + i)];
          }
        y[size_t((n * O + o) * T_out + t)] = acc;
      }
  return Tensor::from_vector(y, {N, O, T_out});
}

Tensor ref_conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2), O = w.size(1), K = w.size(2);
  const int64_t T_out = s * (L - 1) + K;
  const auto xv = x.to(DType::F64).contiguous().to_vector<double>();
  const auto wv = w.to(DType::F64).contiguous().to_vector<double>();
  std::vector<double> y(size_t(N * O * T_out), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o) {
      const double bo = b.defined() ? b.to(DType::F64).at<double>({o}) : 0.0;
      for (int64_t j = 0; j < T_out; ++j) y[size_t((n * O + o) * T_out + j)] = bo;
      for (int64_t i = 0; i < L; ++i)
        for (int64_t m = 0; m < K; ++m)
          for (int64_t c = 0; c < C; ++c)
            y[size_t((n * O + o) * T_out + s * i + m)] +=
                wv[size_t((c * O + o) * K + m)] * xv[size_t((n * C + c) * L + i)];
    }
  return Tensor::from_vector(y, {N, O, T_out});
}

// Many configurations: batch 1 and > 1, odd/even lengths, C_in != C_out, every stride,
// dilation and padding combination that matters, 1×1 convs, kernels longer than the stride.
std::vector<ConvCfg> forward_configs() {
  std::vector<ConvCfg> v;
  for (int64_t N : {1, 3})
    for (int64_t K : {1, 2, 3, 5})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2, 4})
          for (auto [pf, pb] : {std::pair<int64_t, int64_t>{0, 0}, {3, 0}, {0, 2}, {4, 1}}) {
            const int64_t T = 17 + N;  // 18 or 20 samples
            if (T + pf + pb < d * (K - 1) + 1) continue;
            v.push_back({N, 3, 4, T, K, s, d, pf, pb, (K + s) % 2 == 0});
          }
  v.push_back({2, 16, 8, 33, 3, 1, 1, 2, 0, true});  // wider channels
  v.push_back({5, 6, 7, 64, 5, 2, 1, 2, 2, true});   // batch 5 (uneven over threads)
  v.push_back({1, 4, 4, 5, 5, 1, 1, 0, 0, true});    // kernel = whole input, T_out 1
  v.push_back({2, 3, 2, 3, 3, 1, 4, 4, 4, false});   // dilated window mostly in padding
  return v;
}

struct TCfg {
  int64_t N, C_in, C_out, L, K, s;
  bool bias = true;
};

std::vector<TCfg> transpose_configs() {
  std::vector<TCfg> v;
  for (int64_t N : {1, 2})
    for (int64_t K = 1; K <= 5; ++K)
      for (int64_t s : {1, 2, 3})
        for (int64_t L : {1, 6, 9}) v.push_back({N, 3, 5, L, K, s, (K + L) % 2 == 1});
  v.push_back({3, 16, 12, 40, 5, 2, true});
  return v;
}

}  // namespace

// ---- forward against the reference ------------------------------------------------------------

TEST(Conv1d, ForwardMatchesReferenceF64) {
  uint64_t seed = 1;
  for (const ConvCfg& c : forward_configs()) {
    Tensor x = rand64({c.N, c.C_in, c.T}, seed++), w = rand64({c.C_out, c.C_in, c.K}, seed++);
    Tensor b = c.bias ? rand64({c.C_out}, seed++) : Tensor();
    Variable y = conv1d(Variable(x), Variable(w), c.bias ? Variable(b) : Variable(), c.s, c.d, c.pf, c.pb);
    EXPECT_LT(max_abs_diff(y.data(), ref_conv1d(x, w, b, c.s, c.d, c.pf, c.pb)), 1e-12) << cfg_str(c);
    EXPECT_EQ(y.size(2), conv1d_out_len(c.T, c.K, c.s, c.d, c.pf, c.pb)) << cfg_str(c);
  }
}

TEST(Conv1d, ForwardMatchesReferenceF32) {
  uint64_t seed = 100;
  for (const ConvCfg& c : forward_configs()) {
    Tensor x = rand64({c.N, c.C_in, c.T}, seed++).to(DType::F32),
           w = rand64({c.C_out, c.C_in, c.K}, seed++).to(DType::F32);
    Tensor b = c.bias ? rand64({c.C_out}, seed++).to(DType::F32) : Tensor();
    Variable y = conv1d(Variable(x), Variable(w), c.bias ? Variable(b) : Variable(), c.s, c.d, c.pf, c.pb);
    ASSERT_EQ(y.dtype(), DType::F32);
    EXPECT_LT(max_abs_diff(y.data(), ref_conv1d(x, w, b, c.s, c.d, c.pf, c.pb)), 2e-5) << cfg_str(c);
  }
}

// The CPU runs a stride-1 conv either as one im2col GEMM per sample (batch 1 or at most 64 input
// channels) or as one GEMM per tap (wider batched convs); pick shapes that take each way and check
// forward, input gradient and weight gradient against nested loops in double.
TEST(Conv1d, Im2colAndPerTapPathsMatchTheReferenceForwardAndBackward) {
  const std::vector<ConvCfg> cfgs = {
      {1, 70, 9, 23, 3, 1, 2, 4, 1, true},  // batch 1: im2col
      {3, 70, 9, 23, 3, 1, 2, 4, 1, true},  // batch 3, 70 channels: per-tap GEMMs
      {3, 8, 5, 23, 5, 1, 1, 0, 3, false},  // narrow: im2col
      {2, 66, 4, 9, 4, 1, 3, 9, 0, true},   // dilated window mostly in padding, per-tap
      // Batches big enough (≥ 1 MFLOP) to spread over the threads, each with its own weight-
      // gradient accumulator written first with β = 0:
      {4, 70, 20, 64, 3, 1, 2, 4, 0, true},    // causal: the last tap covers dX, written with β = 0
      {4, 70, 20, 64, 3, 1, 8, 16, 0, false},  // causal, dilation 8: every tap valid somewhere
      {4, 70, 40, 16, 3, 1, 8, 16, 0, true},   // tap 0 wholly in the padding: zero-filled accumulators
  };
  uint64_t seed = 500;
  for (const ConvCfg& c : cfgs) {
    Tensor x = rand64({c.N, c.C_in, c.T}, seed++), w = rand64({c.C_out, c.C_in, c.K}, seed++);
    Tensor b = c.bias ? rand64({c.C_out}, seed++) : Tensor();
    Variable xv(x, true), wv(w, true), bv = c.bias ? Variable(b, true) : Variable();
    Variable y = conv1d(xv, wv, bv, 1, c.d, c.pf, c.pb);
    ASSERT_LT(max_abs_diff(y.data(), ref_conv1d(x, w, b, 1, c.d, c.pf, c.pb)), 1e-12) << cfg_str(c);
    const Tensor r = rand64(y.shape(), seed++);
    y.backward(r);
    // dx[n,c,i] = Σ_{o,m} r[n,o,i−d·m+pf]·w[o,c,m],  dw[o,c,m] = Σ_{n,t} r[n,o,t]·x[n,c,t+d·m−pf]
    const int64_t T_out = y.size(2);
    std::vector<double> dx(size_t(c.N * c.C_in * c.T), 0.0), dw(size_t(c.C_out * c.C_in * c.K), 0.0);
    const auto X = x.to_vector<double>(), W = w.to_vector<double>(), R = r.to_vector<double>();
    for (int64_t n = 0; n < c.N; ++n)
      for (int64_t o = 0; o < c.C_out; ++o)
        for (int64_t t = 0; t < T_out; ++t)
          for (int64_t ch = 0; ch < c.C_in; ++ch)
            for (int64_t m = 0; m < c.K; ++m) {
              const int64_t i = t + c.d * m - c.pf;
              if (i < 0 || i >= c.T) continue;
              const double rv = R[size_t((n * c.C_out + o) * T_out + t)];
              dx[size_t((n * c.C_in + ch) * c.T + i)] += rv * W[size_t((o * c.C_in + ch) * c.K + m)];
              dw[size_t((o * c.C_in + ch) * c.K + m)] += rv * X[size_t((n * c.C_in + ch) * c.T + i)];
            }
    EXPECT_LT(max_abs_diff(xv.grad(), Tensor::from_vector(dx, x.shape())), 1e-12) << cfg_str(c);
    EXPECT_LT(max_abs_diff(wv.grad(), Tensor::from_vector(dw, w.shape())), 1e-12) << cfg_str(c);
  }
}

// Inputs that are views: a transposed (N, T, C) tensor, a time slice with a step, a batch slice.
TEST(Conv1d, StridedInputViews) {
  Tensor base = rand64({2, 12, 5}, 7);  // (N, T, C)
  Tensor xt = base.transpose(1, 2);     // (N, C, T) with stride(2) = C
  Tensor w = rand64({4, 5, 3}, 8), b = rand64({4}, 9);
  for (int64_t s : {1, 2}) {
    Variable y = conv1d(Variable(xt), Variable(w), Variable(b), s, 1, 2, 0);
    EXPECT_LT(max_abs_diff(y.data(), ref_conv1d(xt.contiguous(), w, b, s, 1, 2, 0)), 1e-12) << "stride " << s;
  }
  Tensor stepped = rand64({2, 5, 24}, 10).slice(2, 1, 24, 2);  // time stride 2
  Variable y = conv1d(Variable(stepped), Variable(w), Variable(b));
  EXPECT_LT(max_abs_diff(y.data(), ref_conv1d(stepped.contiguous(), w, b, 1, 1, 0, 0)), 1e-12);
  Tensor batch_slice = rand64({4, 5, 9}, 11).narrow(0, 1, 2);
  Variable yt = conv_transpose1d(Variable(batch_slice), Variable(rand64({5, 3, 4}, 12)), Variable(), 2);
  EXPECT_LT(max_abs_diff(yt.data(), ref_conv_transpose1d(batch_slice.contiguous(), rand64({5, 3, 4}, 12), Tensor(), 2)),
            1e-12);
}

TEST(ConvTranspose1d, ForwardMatchesReference) {
  uint64_t seed = 300;
  for (const TCfg& c : transpose_configs()) {
    for (DType dt : {DType::F64, DType::F32}) {
      Tensor x = rand64({c.N, c.C_in, c.L}, seed++).to(dt), w = rand64({c.C_in, c.C_out, c.K}, seed++).to(dt);
      Tensor b = c.bias ? rand64({c.C_out}, seed++).to(dt) : Tensor();
      Variable y = conv_transpose1d(Variable(x), Variable(w), c.bias ? Variable(b) : Variable(), c.s);
      ASSERT_EQ(y.dtype(), dt);
      EXPECT_EQ(y.shape(), (Shape{c.N, c.C_out, c.s * (c.L - 1) + c.K}));
      EXPECT_LT(max_abs_diff(y.data(), ref_conv_transpose1d(x, w, b, c.s)), dt == DType::F64 ? 1e-12 : 2e-5)
          << "N=" << c.N << " K=" << c.K << " s=" << c.s << " L=" << c.L << " " << dtype_name(dt);
    }
  }
}

// The batch-parallel path (samples over OpenMP threads, each with its own dW buffer) and the
// serial path (multi-threaded BLAS) give the same results, forward and backward.
TEST(Conv1d, BatchParallelMatchesSerial) {
  const int saved = omp_get_max_threads();
  auto run = [](int threads, int64_t s) {
    omp_set_num_threads(threads);
    // Big enough (> 1 MFLOP per batch) for the batch to be spread over the threads.
    Variable x(rand64({6, 16, 201}, 21), true), w(rand64({24, 16, 3}, 22), true), b(rand64({24}, 23), true);
    Variable y = conv1d(x, w, b, s, 2, 3, 1);
    y.backward(rand64(y.shape(), 24));
    Variable xt(rand64({6, 24, 150}, 25), true), wt(rand64({24, 16, 3}, 26), true);
    Variable yt = conv_transpose1d(xt, wt, Variable(), s);
    yt.backward(rand64(yt.shape(), 27));
    return std::vector<Tensor>{y.data(), x.grad(), w.grad(), b.grad(), yt.data(), xt.grad(), wt.grad()};
  };
  for (int64_t s : {1, 2}) {
    auto serial = run(1, s), par = run(3, s);
    for (size_t i = 0; i < serial.size(); ++i) EXPECT_LT(max_abs_diff(serial[i], par[i]), 1e-12) << i << " s=" << s;
  }
  omp_set_num_threads(saved);
}

// ---- hand-computed examples ------------------------------------------------------------------

// x = [1 2 3 4], w = [1 −1] (one channel), b = 0.5, front pad 1:
// xpad = [0 1 2 3 4] → y[t] = xpad[t] − xpad[t+1] + 0.5 = [−0.5 −0.5 −0.5 −0.5].
// Stride 2, dilation 2, no pad: y[t] = x[2t] − x[2t+2] + 0.5 → T_out = 1: [1 − 3 + 0.5] = [−1.5].
TEST(Conv1d, HandExample) {
  Variable x(Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 4}), true);
  Variable w(Tensor::from_vector<float>({1, -1}, {1, 1, 2}), true);
  Variable b(Tensor::from_vector<float>({0.5f}, {1}), true);
  Variable y = conv1d(x, w, b, 1, 1, 1, 0);
  EXPECT_EQ(y.data().to_vector<float>(), (std::vector<float>{-0.5f, -0.5f, -0.5f, -0.5f}));
  // dy = [1 1 1 1]: db = 4; dw[0] = Σ xpad[t] = 0+1+2+3 = 6, dw[1] = Σ xpad[t+1] = 10;
  // dx[i] = Σ_t dy[t]·(w[0]·[t = i+1] + w[1]·[t+1 = i+1]) = [1−1, 1−1, 1−1, 0−1] = [0 0 0 −1].
  y.backward(Tensor::ones({1, 1, 4}));
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{4}));
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{6, 10}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 0, 0, -1}));

  Variable y2 = conv1d(x, w, b, 2, 2);
  EXPECT_EQ(y2.shape(), (Shape{1, 1, 1}));
  EXPECT_EQ(y2.data().to_vector<float>(), (std::vector<float>{-1.5f}));

  // Two input channels, two output channels, 1×1: y = W·x per time step.
  Variable x2(Tensor::from_vector<double>({1, 2, 3, 10, 20, 30}, {1, 2, 3}));
  Variable w2(Tensor::from_vector<double>({1, 1, 2, -1}, {2, 2, 1}));
  EXPECT_EQ(conv1d(x2, w2).data().to_vector<double>(), (std::vector<double>{11, 22, 33, -8, -16, -24}));
}

// x = [1 2 3], w = [1 10 100] (C_in = C_out = 1), stride 2, b = 1: T_out = 2·2 + 3 = 7,
// y = 1 + [1 10 100 0 0 0 0] + [0 0 2 20 200 0 0] + [0 0 0 0 3 30 300] = [2 11 103 21 204 31 301].
TEST(ConvTranspose1d, HandExample) {
  Variable x(Tensor::from_vector<float>({1, 2, 3}, {1, 1, 3}), true);
  Variable w(Tensor::from_vector<float>({1, 10, 100}, {1, 1, 3}), true);
  Variable b(Tensor::from_vector<float>({1}, {1}), true);
  Variable y = conv_transpose1d(x, w, b, 2);
  EXPECT_EQ(y.data().to_vector<float>(), (std::vector<float>{2, 11, 103, 21, 204, 31, 301}));
  // dy = [1 0 0 0 0 0 1]: dx[i] = Σ_m w[m]·dy[2i+m] = [1, 0, 100]; dw[m] = Σ_i x[i]·dy[2i+m] = [1, 0, 3];
  // db = 2.
  y.backward(Tensor::from_vector<float>({1, 0, 0, 0, 0, 0, 1}, {1, 1, 7}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{1, 0, 100}));
  EXPECT_EQ(w.grad().to_vector<float>(), (std::vector<float>{1, 0, 3}));
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{2}));
  // Stride 1, K 2: y = [1, 10+2, 20+3, 30] + 1.
  Variable w2(Tensor::from_vector<float>({1, 10}, {1, 1, 2}));
  EXPECT_EQ(conv_transpose1d(x, w2, b, 1).data().to_vector<float>(), (std::vector<float>{2, 13, 24, 31}));
}

// ---- gradients (the f64 gradchecks of conv1d / conv_transpose1d are cases in tests/op_cases.cpp) --

// A gradient arriving as a broadcast view (sum's backward expands a scalar) still works.
TEST(Conv1d, BackwardThroughSum) {
  Variable x(rand64({2, 3, 8}, 51), true), w(rand64({2, 3, 3}, 52), true);
  Variable loss = sum(conv1d(x, w, Variable(), 1, 1, 2, 0));
  loss.backward();
  // d(Σy)/dw[o,c,m] = Σ_{n,t} xpad[n,c,t+m].
  const auto xv = x.data().to_vector<double>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t m = 0; m < 3; ++m) {
      double e = 0;
      for (int64_t n = 0; n < 2; ++n)
        for (int64_t t = 0; t < 8; ++t) {
          const int64_t i = t + m - 2;
          if (i >= 0 && i < 8) e += xv[size_t((n * 3 + c) * 8 + i)];
        }
      EXPECT_NEAR(w.grad().at<double>({1, c, m}), e, 1e-12);
    }
}

// The bias gradient sums each channel left to right over n and t in f32 (ops/cpu/conv.cpp): its
// channels run in groups of 8 side by side, and every channel's result must be bitwise that
// single running sum, for whole groups, a remainder, and the threaded size.
TEST(Conv1d, BiasGradientIsEachChannelsRunningSumBitwise) {
  struct Case {
    int64_t N, C, T;
  };
  for (const Case& c : {Case{3, 5, 37}, Case{2, 8, 11}, Case{1, 21, 9}, Case{2, 19, 1000}, Case{1, 128, 300}}) {
    Generator gen(61);
    Variable x(Tensor::uniform({c.N, 2, c.T}, -1, 1, DType::F32, gen));
    Variable w(Tensor::uniform({c.C, 2, 1}, -1, 1, DType::F32, gen)), b(Tensor::zeros({c.C}), true);
    const Tensor g = Tensor::uniform({c.N, c.C, c.T}, -1, 1, DType::F32, gen);
    conv1d(x, w, b).backward(g);
    const std::vector<float> gv = g.to_vector<float>(), db = b.grad().to_vector<float>();
    for (int64_t ch = 0; ch < c.C; ++ch) {
      float acc = 0;
      for (int64_t n = 0; n < c.N; ++n)
        for (int64_t t = 0; t < c.T; ++t) acc += gv[size_t((n * c.C + ch) * c.T + t)];
      EXPECT_EQ(db[size_t(ch)], acc) << "N " << c.N << " C " << c.C << " T " << c.T << " channel " << ch;
    }
  }
}

// ---- argument errors ------------------------------------------------------------------------

TEST(Conv1d, Errors) {
  Variable x(Tensor::zeros({2, 5, 3})), w(Tensor::zeros({4, 5, 3})), b(Tensor::zeros({4}));
  auto expect = [](const std::function<void()>& f, const std::string& part) {
    const std::string msg = error_of(f);
    EXPECT_THAT(msg, HasSubstr("conv1d"));
    EXPECT_THAT(msg, HasSubstr(part));
  };
  expect([&] { conv1d(Variable(Tensor::zeros({5, 3})), w, b); }, "f32[5, 3]");           // x 2-D
  expect([&] { conv1d(x, Variable(Tensor::zeros({4, 5})), b); }, "weight must be 3-D");  // w 2-D
  expect([&] { conv1d(x, Variable(Tensor::zeros({4, 6, 3})), b); }, "f32[4, 6, 3]");     // C_in
  expect([&] { conv1d(x, w, b, 1, 2); }, "input f32[2, 5, 3] is shorter than the dilated kernel (K=3, dilation=2");
  expect([&] { conv1d(x, Variable(Tensor::zeros({4, 5, 5})), b, 1, 1, 1, 0); }, "padded by 1+0");
  expect([&] { conv1d(x, w, b, 0); }, "stride");
  expect([&] { conv1d(x, w, b, 1, 0); }, "dilation");
  expect([&] { conv1d(x, w, b, 1, 1, -1, 0); }, "padding");
  expect([&] { conv1d(x, w, b, 1, 1, 0, -2); }, "padding");
  expect([&] { conv1d(x, w, Variable(Tensor::zeros({5}))); }, "bias f32[5]");
  expect([&] { conv1d(x, w, Variable(Tensor::zeros({4, 1}))); }, "bias f32[4, 1]");
  expect([&] { conv1d(x, w, Variable(Tensor::zeros({4}, DType::F64))); }, "f64[4]");
  expect([&] { conv1d(Variable(Tensor::zeros({2, 5, 3}, DType::F64)), w, b); }, "dtype");
  expect([&] { conv1d(x, Variable(Tensor::zeros({4, 5, 0})), b); }, "empty kernel");
  expect([&] { conv1d(Variable(Tensor::zeros({2, 5, 3}, DType::I64)), w, b); }, "i64");
  expect([&] { conv1d(x, Variable(), b); }, "undefined");
  // A kernel exactly as long as the padded input is fine.
  EXPECT_EQ(conv1d(x, w, b, 1, 2, 1, 1).shape(), (Shape{2, 4, 1}));
}

TEST(ConvTranspose1d, Errors) {
  Variable x(Tensor::zeros({2, 5, 3})), w(Tensor::zeros({5, 4, 3})), b(Tensor::zeros({4}));
  auto expect = [](const std::function<void()>& f, const std::string& part) {
    const std::string msg = error_of(f);
    EXPECT_THAT(msg, HasSubstr("conv_transpose1d"));
    EXPECT_THAT(msg, HasSubstr(part));
  };
  expect([&] { conv_transpose1d(Variable(Tensor::zeros({5, 3})), w, b); }, "f32[5, 3]");
  expect([&] { conv_transpose1d(x, Variable(Tensor::zeros({5, 4})), b); }, "weight must be 3-D");
  expect([&] { conv_transpose1d(x, Variable(Tensor::zeros({4, 5, 3})), b); }, "f32[4, 5, 3]");  // C_in is dim 0
  expect([&] { conv_transpose1d(x, w, Variable(Tensor::zeros({5}))); }, "bias f32[5]");
  expect([&] { conv_transpose1d(x, w, b, 0); }, "stride");
  expect([&] { conv_transpose1d(Variable(Tensor::zeros({2, 5, 0})), w, b); }, "empty along time");
  expect([&] { conv_transpose1d(x, Variable(Tensor::zeros({5, 4, 3}, DType::F64)), b); }, "dtype");
  expect([&] { conv_transpose1d(x, Variable(Tensor::zeros({5, 4, 0})), b); }, "empty kernel");
  EXPECT_EQ(conv_transpose1d(x, w, b).shape(), (Shape{2, 4, 7}));
}
