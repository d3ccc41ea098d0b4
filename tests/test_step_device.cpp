// tests/test_step_device.cpp — the step kernels (ops/kernels/step.h) and the step modes on a GPU,
// with the CPU as the oracle (GPU parts skip cleanly without a GPU), and the device-side
// generation loop (models/step/sampling.h) against the host loop `seqnet generate` ran before.
//
//   * every step kernel on awkward sizes: the CUDA twin against the CPU kernel (floats within
//     1e-6 relative to the largest |value|, indices exactly);
//   * the CPU sampling kernel draws what sample_categorical draws from Generator::next_u64;
//   * WaveNet and residual Seq-U-Net steppers on the GPU against the same steppers on the CPU,
//     every step over three clock cycles, dense and one-hot input (1e-5 of the largest |logit|);
//   * step::generate on the GPU picks the same symbols as on the CPU (greedy and sampled), with
//     and without recorded phases;
//   * the WaveNet's persistent loop (ops/kernels/wavenet_loop.h): its CPU twin draws what
//     step::generate draws and gives the same bits for every count and order of its emulated
//     workers (a missing barrier would show); on the GPU, the CPU's symbols, rerun bit for bit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>
#include <vector>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/rng.h"
#include "models/heads.h"
#include "models/sequnet.h"
#include "models/sequnet_res.h"
#include "models/step/head_step.h"
#include "models/step/sampling.h"
#include "models/step/sequnet_res_step.h"
#include "models/step/sequnet_step.h"
#include "models/step/tcn_step.h"
#include "models/step/wavenet_step.h"
#include "models/tcn.h"
#include "models/wavenet.h"
#include "ops/backend.h"
#include "ops/cpu/cpu_backend.h"
#include "tests/test_util.h"

namespace seqnet {
namespace {

using seqnet::testing::max_abs_diff;

// The GPU of these tests: cuda:0, or the CPU in ctest's dry run (tests/test_util.h).
bool have_gpu() { return seqnet::testing::have_test_gpu(); }
Device gpu_device() { return seqnet::testing::test_gpu(); }
bool gpu_is_real() { return seqnet::testing::gpu_is_real(); }

// The draw of `seqnet generate` before the device loop (train/cli/generate.cpp).
int64_t host_draw(const float* l, int64_t C, double temperature, Generator& g) {
  int64_t best = 0;
  for (int64_t c = 1; c < C; ++c)
    if (l[c] > l[best]) best = c;
  if (temperature == 0) return best;
  const double m = l[best];
  double total = 0;
  std::vector<double> p(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) total += p[size_t(c)] = std::exp((double(l[c]) - m) / temperature);
  double u = u64_to_unit_double(g.next_u64()) * total;
  for (int64_t c = 0; c < C; ++c)
    if ((u -= p[size_t(c)]) < 0) return c;
  return C - 1;
}

// ---- the kernels, CPU twin vs CUDA --------------------------------------------------------------

// Buffers of one kernel call, made on the host and copied to `d`.
struct Buffers {
  std::vector<Tensor> t;
  Tensor& add(const Tensor& host, Device d) {
    t.push_back(host.to(d).contiguous());
    return t.back();
  }
};

double rel_diff(const Tensor& a, const Tensor& b) {
  const Tensor ha = a.to(Device::cpu()).to(DType::F64), hb = b.to(Device::cpu()).to(DType::F64);
  double scale = 0;
  for (double v : hb.contiguous().to_vector<double>()) scale = std::max(scale, std::fabs(v));
  return max_abs_diff(ha, hb) / std::max(scale, 1e-30);
}

// Runs `call(kernels, device, buffers)` on the CPU and on cuda:0 with the same inputs and compares
// every buffer it touched (float buffers within `tol` of their largest |value|).
template <class Call>
void expect_twins(const char* what, const std::vector<Tensor>& inputs, Call call, double tol = 1e-6) {
  Buffers cpu_b, gpu_b;
  for (const Tensor& x : inputs) cpu_b.add(x, Device::cpu()), gpu_b.add(x, gpu_device());
  call(backend(Device::cpu(), what).step, cpu_b.t);
  call(backend(gpu_device(), what).step, gpu_b.t);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Tensor a = gpu_b.t[i].to(Device::cpu());
    if (a.dtype() == DType::I64) {
      EXPECT_EQ(a.to_vector<int64_t>(), cpu_b.t[i].to_vector<int64_t>()) << what << " buffer " << i;
      continue;
    }
    // NaN where the CPU has NaN, and nowhere else; the other elements within 1e-6.
    std::vector<float> av = a.to_vector<float>(), bv = cpu_b.t[i].to_vector<float>();
    for (size_t j = 0; j < av.size(); ++j) {
      ASSERT_EQ(std::isnan(av[j]), std::isnan(bv[j])) << what << " buffer " << i << " element " << j;
      if (std::isnan(av[j])) av[j] = bv[j] = 0.0f;
    }
    EXPECT_LE(rel_diff(Tensor::from_vector<float>(av, a.shape()), Tensor::from_vector<float>(bv, a.shape())), tol)
        << what << " buffer " << i;
  }
}

TEST(StepKernels, CudaTwinsMatchTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g(5);
  auto randn = [&](const Shape& s) { return Tensor::randn(s, DType::F32, g); };
  // affine: warp kernel (N ≤ 8) and cuBLAS (N > 8), bias or none, accumulate or not, odd lds.
  // K = 300: more than the row kernel's 128 threads, so each thread sums several columns. A float
  // dot product's rounding grows like sqrt(K): two summation orders of 300 terms differ by up to
  // ~1e-6 of the largest output (simulated: 9.8e-7 over 30 draws), so K = 300 compares at 1e-5.
  for (int64_t K : {70, 300})
    for (int64_t N : {1, 3, 8, 9, 17})
      for (bool acc : {false, true})
        for (bool bias : {false, true}) {
          const int64_t M = 37, ldx = K + 3, ldw = K + 5, ldy = 41;
          expect_twins(
              "affine", {randn({N, ldx}), randn({M, ldw}), randn({M}), randn({N, ldy})},
              [&](const StepKernels& k, std::vector<Tensor>& b) {
                k.affine(N, M, K, b[0].data<float>(), ldx, b[1].data<float>(), ldw, bias ? b[2].data<float>() : nullptr,
                         b[3].data<float>(), ldy, acc);
              },
              K > 128 ? 1e-5 : 1e-6);
        }
  // gated_affine: the fused product and gate (one block per channel), K below and above the
  // block's 128 threads, with and without the identity. Weights ~ N(0, 1/K), as in a trained
  // layer, so the pre-activations are O(1); 1e-5, because the gate passes a different order of
  // summation straight through where tanh' ≈ 1 and device tanhf / expf differ from libmvec's by ulps.
  for (int64_t K : {70, 300})
    for (int64_t N : {1, 3, 8})
      for (bool id : {false, true}) {
        const int64_t C = 37, ldx = K + 3, ldw = K + 5;
        std::vector<float> wv = randn({2 * C, ldw}).to_vector<float>();
        for (float& v : wv) v /= std::sqrt(float(K));
        expect_twins(
            "gated_affine",
            {randn({N, ldx}), Tensor::from_vector<float>(wv, {2 * C, ldw}), randn({2 * C}), randn({N, C + 2}),
             randn({N, C + 4})},
            [&](const StepKernels& k, std::vector<Tensor>& b) {
              k.gated_affine(N, C, K, b[0].data<float>(), ldx, b[1].data<float>(), ldw, b[2].data<float>(),
                             id ? b[3].data<float>() : nullptr, C + 2, b[4].data<float>(), C + 4, {});
            },
            1e-5);
      }
  if (gpu_is_real()) {  // on the GPU, the fused kernel gives the bits of the two it replaces
    const int64_t N = 3, C = 37, K = 300;
    const Tensor X = randn({N, K}).to(gpu_device()), W = randn({2 * C, K}).to(gpu_device());
    const Tensor b = randn({2 * C}).to(gpu_device()), I = randn({N, C}).to(gpu_device());
    Tensor fg = Tensor::zeros({N, 2 * C}, DType::F32, gpu_device());
    Tensor two = Tensor::zeros({N, C}, DType::F32, gpu_device()), one = Tensor::zeros({N, C}, DType::F32, gpu_device());
    const StepKernels& k = backend(gpu_device(), "test").step;
    k.affine(N, 2 * C, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), fg.data<float>(), 2 * C, false);
    k.gated(N, C, 0, C, fg.data<float>(), I.data<float>(), C, two.data<float>(), C);
    k.gated_affine(N, C, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), I.data<float>(), C,
                   one.data<float>(), C, {});
    EXPECT_EQ(one.to(Device::cpu()).to_vector<float>(), two.to(Device::cpu()).to_vector<float>());
  }
  // gated_affine with its window pushes: the output into a C-wide window and into the first half of
  // a [x, cond] window whose second half comes from memory the kernel does not write (through a
  // relu from both kinds of source in the one-row case); 5 rows and 1.
  for (int64_t rows : {5, 1}) {
    const int64_t N = 3, C = 37, K = 70;
    std::vector<float> wv = randn({2 * C, K}).to_vector<float>();
    for (float& v : wv) v /= std::sqrt(float(K));
    expect_twins(
        "gated_affine (pushes)",
        {randn({N, K}), Tensor::from_vector<float>(wv, {2 * C, K}), randn({2 * C}), randn({N, C + 2}), randn({N, C}),
         randn({N, rows, C}), randn({N, rows, 2 * C})},
        [&](const StepKernels& k, std::vector<Tensor>& b) {
          StepPushes p;
          p.count = 3;
          const bool relu = rows == 1;  // from the output (the kernel's own value) and from other memory
          p.push[0] = StepPush{b[5].data<float>(), rows, C, 0, b[4].data<float>(), C, relu};
          p.push[1] = StepPush{b[6].data<float>(), rows, 2 * C, 0, b[4].data<float>(), C};
          p.push[2] = StepPush{b[6].data<float>(), rows, 2 * C, C, b[3].data<float>(), C + 2, relu};
          k.gated_affine(N, C, K, b[0].data<float>(), K, b[1].data<float>(), K, b[2].data<float>(), nullptr, 0,
                         b[4].data<float>(), C, p);
        },
        1e-5);
  }
  for (bool id : {false, true})
    expect_twins("gated", {randn({3, 2 * 11}), randn({3, 13}), randn({3, 17})},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   k.gated(3, 11, 2, 9, b[0].data<float>(), id ? b[1].data<float>() : nullptr, 13, b[2].data<float>(),
                           17);
                 });
  {  // a NaN stays NaN, as std::max(NaN, 0) leaves it on the CPU
    std::vector<float> xv = randn({4, 9}).to_vector<float>();
    xv[11] = std::numeric_limits<float>::quiet_NaN();
    expect_twins("relu", {Tensor::from_vector<float>(xv, {4, 9}), randn({4, 10})},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   k.relu(4, 1, 8, b[0].data<float>(), 9, b[1].data<float>(), 10);
                 });
  }
  expect_twins("leaky_relu", {randn({4, 9}), randn({4, 10})}, [&](const StepKernels& k, std::vector<Tensor>& b) {
    k.leaky_relu(4, 1, 8, b[0].data<float>(), 9, b[1].data<float>(), 10, 0.01f);
  });
  expect_twins("leaky_relu in place", {randn({3, 12})}, [&](const StepKernels& k, std::vector<Tensor>& b) {
    k.leaky_relu(3, 0, 12, b[0].data<float>(), 12, b[0].data<float>(), 12, 0.01f);
  });
  expect_twins("add", {randn({4, 9}), randn({4, 10})}, [&](const StepKernels& k, std::vector<Tensor>& b) {
    k.add(4, 2, 9, b[0].data<float>(), 9, b[1].data<float>(), 10);
  });
  for (int64_t pos : {-1, 0, 6, 12, 100}) {
    const int64_t N = 2, C = 7, slots = 9, d = 4, K = 3;
    Tensor p = Tensor::full({1}, double(pos), DType::I64);
    expect_twins("ring_push_gather", {randn({slots, N, C}), p, randn({N, 10}), randn({N, K * C})},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   k.ring_push_gather(N, C, 1, 6, slots, d, K, b[0].data<float>(), b[1].data<int64_t>(),
                                      b[2].data<float>(), 10, b[3].data<float>());
                 });
  }
  for (bool cond : {false, true})
    expect_twins("window_push", {randn({3, 5, 12}), randn({3, 14}), randn({3, 9})},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   k.window_push(3, 5, 12, b[0].data<float>(), b[1].data<float>(), 14, cond ? 7 : 12,
                                 cond ? b[2].data<float>() : nullptr, 9);
                 });
  // affine_ring: the residual product accumulated into h, then h pushed into the next layer's
  // queue (slot *pos = 6 of 7; dilation 3, 3 taps) and its taps gathered — at N = 3 (one kernel)
  // and N = 12 (cuBLAS, then the push).
  for (int64_t N : {3, 12})
    expect_twins("affine_ring",
                 {randn({N, 20}), randn({13, 20}), randn({13}), randn({N, 13}), randn({7, N, 13}), randn({N, 3 * 13}),
                  Tensor::full({1}, 6.0, DType::I64)},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   const StepRing ring{b[4].data<float>(), 7, 3, 3, b[6].data<int64_t>(), b[5].data<float>()};
                   k.affine_ring(N, 13, 20, b[0].data<float>(), 20, b[1].data<float>(), 20, b[2].data<float>(),
                                 b[3].data<float>(), 13, true, ring);
                 });
  expect_twins("one_hot_push",
               {randn({3, 4, 10}), Tensor::from_vector<int64_t>({1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2}, {3, 4}),
                Tensor::from_vector<int64_t>({9, 0, 4}, {3})},
               [&](const StepKernels& k, std::vector<Tensor>& b) {
                 k.one_hot_push(3, 4, 10, b[0].data<float>(), b[1].data<int64_t>(), b[2].data<int64_t>(), 1);
               });
  // The float window alone, its indices read from the newest entries of an ids window (stride 4),
  // which the call leaves as it is (a generation loop's draw pushed them there).
  expect_twins("one_hot_push (window of ids given)",
               {randn({3, 4, 10}), Tensor::from_vector<int64_t>({1, 2, 3, 9, 5, 6, 7, 0, 9, 0, 1, 4}, {3, 4})},
               [&](const StepKernels& k, std::vector<Tensor>& b) {
                 k.one_hot_push(3, 4, 10, b[0].data<float>(), nullptr, b[1].data<int64_t>() + 3, 4);
               });
  expect_twins(
      "lookup",
      {randn({11, 3 * 10}), Tensor::from_vector<int64_t>({1, 2, 3, 9, 0, 5}, {2, 3}), randn({11}), randn({2, 13})},
      [&](const StepKernels& k, std::vector<Tensor>& b) {
        k.lookup(2, 2, 10, 3, 10, b[0].data<float>(), 30, b[1].data<int64_t>(), b[2].data<float>(), b[3].data<float>(),
                 13, {});
      });
  // lookup with pushes of its channels [2, 10) into a window of 10 columns (from its output) and
  // into columns 1 … of a wider one through a relu (from other memory); 4 rows.
  expect_twins("lookup (pushes)",
               {randn({11, 3 * 10}), Tensor::from_vector<int64_t>({1, 2, 3, 9, 0, 5}, {2, 3}), randn({11}),
                randn({2, 13}), randn({2, 4, 10}), randn({2, 4, 12}), randn({2, 10})},
               [&](const StepKernels& k, std::vector<Tensor>& b) {
                 StepPushes p;
                 p.count = 2;
                 p.push[0] = StepPush{b[4].data<float>(), 4, 10, 0, b[3].data<float>(), 13};
                 p.push[1] = StepPush{b[5].data<float>(), 4, 12, 1, b[6].data<float>(), 10, true};
                 k.lookup(2, 2, 10, 3, 10, b[0].data<float>(), 30, b[1].data<int64_t>(), b[2].data<float>(),
                          b[3].data<float>(), 13, p);
               });
  // sample: more classes than the kernel's 256 threads, NaN in class 0 of one row and elsewhere
  // in another, greedy and two temperatures, at two step counts.
  std::vector<float> lv = randn({4, 300}).to_vector<float>();
  for (float& v : lv) v *= 3.0f;
  lv[size_t(1 * 300 + 0)] = std::numeric_limits<float>::quiet_NaN();
  lv[size_t(2 * 300 + 17)] = std::numeric_limits<float>::quiet_NaN();
  lv[size_t(3 * 300 + 5)] = lv[size_t(3 * 300 + 250)] = 50.0f;  // a tie: the first one wins
  const Tensor logits = Tensor::from_vector<float>(lv, {4, 300});
  for (double T : {0.0, 1.0, 0.37})
    for (int64_t count : {0, 5})
      expect_twins("sample",
                   {logits, Tensor::full({1}, double(count), DType::I64), Tensor::zeros({4}, DType::I64),
                    Tensor::zeros({8, 4}, DType::I64)},
                   [&](const StepKernels& k, std::vector<Tensor>& b) {
                     k.sample(4, 300, b[0].data<float>(), 300, T, 77, 1000, b[1].data<int64_t>(), b[2].data<int64_t>(),
                              1, b[3].data<int64_t>(), false);
                   });
  // The draw pushed into a window of the last 5 ids per sequence (the residual Seq-U-Net's input
  // lookup reads it): each row moves up one entry, the draw last; twice in a row.
  for (double T : {0.0, 1.0})
    expect_twins("sample into a window of ids",
                 {logits, Tensor::full({1}, 3.0, DType::I64),
                  Tensor::from_vector<int64_t>(
                      {0, 1, 2, 3, 4, 10, 11, 12, 13, 14, 20, 21, 22, 23, 24, 30, 31, 32, 33, 34}, {4, 5}),
                  Tensor::zeros({8, 4}, DType::I64)},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   for (int r = 0; r < 2; ++r)
                     k.sample(4, 300, b[0].data<float>(), 300, T, 77, 1000, b[1].data<int64_t>(), b[2].data<int64_t>(),
                              5, b[3].data<int64_t>(), true);
                 });
  // One chunk of classes (C ≤ 256: the exps of the sum are reused for the draw), at 9 and 256.
  for (int64_t C : {9, 256}) {
    std::vector<float> cv = randn({3, C}).to_vector<float>();
    for (float& v : cv) v *= 3.0f;
    const Tensor lc = Tensor::from_vector<float>(cv, {3, C});
    for (double T : {0.0, 1.0})
      expect_twins(
          "sample, one chunk",
          {lc, Tensor::full({1}, 2.0, DType::I64), Tensor::zeros({3}, DType::I64), Tensor::zeros({4, 3}, DType::I64)},
          [&](const StepKernels& k, std::vector<Tensor>& b) {
            k.sample(3, C, b[0].data<float>(), C, T, 78, 500, b[1].data<int64_t>(), b[2].data<int64_t>(), 1,
                     b[3].data<int64_t>(), false);
          });
  }
  // 88 keys in (−6, 6): temperature 0 thresholds at 0, the others draw from σ(x / T)
  for (double T : {0.0, 1.0, 0.37})
    for (int64_t count : {0, 5})
      expect_twins("bernoulli",
                   {Tensor::uniform({3, 90}, -6.0, 6.0, DType::F32, g), Tensor::full({1}, double(count), DType::I64),
                    Tensor::zeros({3, 88}), Tensor::zeros({8, 3, 88})},
                   [&](const StepKernels& k, std::vector<Tensor>& b) {
                     k.bernoulli(3, 88, b[0].data<float>(), 90, T, 77, 1000, b[1].data<int64_t>(), b[2].data<float>(),
                                 b[3].data<float>(), false);
                   });
  // The draws with their loop's counter tick, three in a row: each draws with the count the last
  // one left (5, 6, 7 → 8 on each device; in the dry run both share one buffer), and on a GPU finds the block counter
  // the last one restored — one block (sample at N = 1) and several (sample at N = 4; bernoulli's 8 × 88 keys: 3 blocks
  // of 256).
  for (double T : {0.0, 1.0})
    for (int64_t N : {1, 4}) {
      const Tensor ln = logits.narrow(0, 0, N).contiguous();
      expect_twins("sample with tick",
                   {ln, Tensor::full({1}, 5.0, DType::I64), Tensor::zeros({N}, DType::I64),
                    Tensor::zeros({16, N}, DType::I64)},  // rows for counts up to 10: the dry run's
                   [&](const StepKernels& k, std::vector<Tensor>& b) {
                     const int64_t before = b[1].to(Device::cpu()).to_vector<int64_t>()[0];
                     for (int r = 0; r < 3; ++r)
                       k.sample(N, 300, b[0].data<float>(), 300, T, 77, 1000, b[1].data<int64_t>(),
                                b[2].data<int64_t>(), 1, b[3].data<int64_t>(), true);
                     ASSERT_EQ(b[1].to(Device::cpu()).to_vector<int64_t>()[0], before + 3);
                   });
    }
  // Many blocks, many draws: a tick that came before every block had read the count would draw
  // some rows with the next step's Philox block and history row (sample at N = 64: 64 blocks, 40
  // draws; the history has rows for the dry run's 85).
  {
    const Tensor wide = Tensor::randn({64, 300}, DType::F32, g);
    expect_twins("sample with tick, 64 blocks",
                 {wide, Tensor::full({1}, 5.0, DType::I64), Tensor::zeros({64}, DType::I64),
                  Tensor::zeros({96, 64}, DType::I64)},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   const int64_t before = b[1].to(Device::cpu()).to_vector<int64_t>()[0];
                   for (int r = 0; r < 40; ++r)
                     k.sample(64, 300, b[0].data<float>(), 300, 1.0, 79, 1000, b[1].data<int64_t>(),
                              b[2].data<int64_t>(), 1, b[3].data<int64_t>(), true);
                   ASSERT_EQ(b[1].to(Device::cpu()).to_vector<int64_t>()[0], before + 40);
                 });
  }
  for (double T : {0.0, 0.37})
    expect_twins("bernoulli with tick",
                 {Tensor::uniform({8, 90}, -6.0, 6.0, DType::F32, g), Tensor::full({1}, 5.0, DType::I64),
                  Tensor::zeros({8, 88}), Tensor::zeros({16, 8, 88})},
                 [&](const StepKernels& k, std::vector<Tensor>& b) {
                   const int64_t before = b[1].to(Device::cpu()).to_vector<int64_t>()[0];
                   for (int r = 0; r < 3; ++r)
                     k.bernoulli(8, 88, b[0].data<float>(), 90, T, 77, 1000, b[1].data<int64_t>(), b[2].data<float>(),
                                 b[3].data<float>(), true);
                   ASSERT_EQ(b[1].to(Device::cpu()).to_vector<int64_t>()[0], before + 3);
                 });
  expect_twins("tick", {Tensor::full({1}, 6.0, DType::I64)}, [&](const StepKernels& k, std::vector<Tensor>& b) {
    k.tick(b[0].data<int64_t>(), 7);
    k.tick(b[0].data<int64_t>(), 0);
  });
}

// The CPU sampling kernel consumes the Philox stream exactly as the host loop did: step s,
// sequence n uses block first + s·N + n, i.e. the (s·N + n)-th next_u64 after the reserve.
TEST(StepKernels, CpuSampleDrawsWhatTheHostLoopDraws) {
  Generator data(3);
  const int64_t N = 3, C = 40, S = 25;
  const Tensor logits = Tensor::uniform({S, N, C}, -4.0, 4.0, DType::F32, data);
  const float* l = logits.data<float>();
  for (double T : {0.0, 0.5, 1.0}) {
    Generator host(99), dev(99);
    std::vector<int64_t> want, got(static_cast<size_t>(S * N)), ids(static_cast<size_t>(N));
    for (int64_t s = 0; s < S; ++s)
      for (int64_t n = 0; n < N; ++n) want.push_back(host_draw(l + (s * N + n) * C, C, T, host));
    const uint64_t first = T > 0 ? dev.reserve(uint64_t(S * N)) : 0;
    const StepKernels& k = backend(Device::cpu(), "test").step;
    int64_t count = 0;  // ticked by every draw, as a generation loop's
    for (int64_t s = 0; s < S; ++s)
      k.sample(N, C, l + s * N * C, C, T, dev.state().seed, first, &count, ids.data(), 1, got.data(), true);
    EXPECT_EQ(count, S);
    EXPECT_EQ(got, want) << "temperature " << T;
    // Into a window of the last 3 ids per sequence: it holds draws S − 3 … S − 1 of each.
    std::vector<int64_t> window(static_cast<size_t>(N * 3), -1), wgot(got.size());
    Generator again(99);
    const uint64_t first_again = T > 0 ? again.reserve(uint64_t(S * N)) : 0;
    count = 0;
    for (int64_t s = 0; s < S; ++s)
      k.sample(N, C, l + s * N * C, C, T, again.state().seed, first_again, &count, window.data(), 3, wgot.data(), true);
    EXPECT_EQ(wgot, want);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t r = 0; r < 3; ++r)
        EXPECT_EQ(window[size_t(n * 3 + r)], want[size_t((S - 3 + r) * N + n)]) << "sequence " << n << ", row " << r;
    EXPECT_THAT(
        seqnet::testing::error_of([&] { k.sample(N, C, l, C, T, 1, 0, &count, window.data(), 0, nullptr, false); }),
        ::testing::HasSubstr("step sample: ids_rows must be at least 1, got 0"));
    EXPECT_EQ(dev.state(), host.state()) << "the generator ends where the host loop's ended";
  }
}

// ---- the steppers, GPU vs CPU -------------------------------------------------------------------

WaveNetConfig small_wavenet() {
  WaveNetConfig c;
  c.layers = 4, c.blocks = 2, c.kernel_size = 2, c.bias = true;
  c.dilation_channels = 12, c.residual_channels = 10, c.skip_channels = 14, c.classes = 9, c.output_length = 1;
  return c;
}

SequnetResConfig small_sequnet() {
  SequnetResConfig c;
  c.num_inputs = 9, c.num_channels = 11, c.num_levels = 4, c.num_outputs = 9, c.kernel_size = 5, c.depth = 2;
  c.target_output_size = 1;
  return c;
}

// Teacher-forced steps (dense columns, then one-hot indices) on the CPU and the GPU stepper; every
// output within 1e-5 of the largest |logit|.
template <class Stepper, class Model>
void expect_gpu_steps_match(Model& cpu_model, Model& gpu_model, int64_t input_size, int64_t classes, int64_t steps,
                            int64_t batch) {
  Generator g(21);
  NoGradGuard no_grad;
  const Tensor prompt = Tensor::randn({batch, classes, input_size}, DType::F32, g);
  Stepper cpu(cpu_model), gpu(gpu_model, step::Weights::F32, gpu_device());
  const Tensor a = cpu.save(prompt), b = gpu.save(prompt);
  EXPECT_LE(rel_diff(b, a), 1e-5) << "save";
  double worst = 0;
  for (int64_t s = 0; s < steps; ++s) {
    Tensor ya, yb;
    // dense columns, then a stretch of one-hot steps (long enough for a Seq-U-Net's input conv to
    // take weight columns), then the two alternating
    if (s < steps / 3 || (s >= 2 * steps / 3 && s % 2 == 0)) {
      const Tensor col = Tensor::randn({batch, classes}, DType::F32, g);
      ya = cpu.step(col).clone(), yb = gpu.step(col.to(gpu_device())).to(Device::cpu());
    } else {
      std::vector<int64_t> ids(static_cast<size_t>(batch));
      for (int64_t n = 0; n < batch; ++n) ids[size_t(n)] = (s * 7 + n * 3) % classes;
      ya = cpu.step_indices(ids.data()).clone(), yb = gpu.step_indices(ids.data()).to(Device::cpu());
    }
    const double d = rel_diff(yb, ya);
    ASSERT_LE(d, 1e-5) << "step " << s;
    worst = std::max(worst, d);
  }
  std::printf("[ gpu step ] %lld steps at batch %lld: max |gpu − cpu| / max |cpu| %.2e\n", (long long)steps,
              (long long)batch, worst);
}

// Two steppers of one model on the CPU, teacher-forced alike, the second with its gated convs
// fused (StepKernels::gated_affine, the path a GPU takes at batch ≤ 8): every output within 1e-5
// of the largest |logit|.
template <class Stepper, class Model>
void expect_fused_steps_match(Model& model, int64_t input_size, int64_t classes, int64_t steps, int64_t batch) {
  Generator g(22);
  NoGradGuard no_grad;
  const Tensor prompt = Tensor::randn({batch, classes, input_size}, DType::F32, g);
  Stepper plain(model), fused(model);
  fused.set_fused_gates(true);
  const Tensor a = plain.save(prompt), b = fused.save(prompt);
  EXPECT_FALSE(plain.fused_gates());
  ASSERT_EQ(fused.fused_gates(), batch <= kGatedAffineMaxBatch) << "batch " << batch;
  EXPECT_LE(rel_diff(b, a), 1e-5) << "save";
  for (int64_t s = 0; s < steps; ++s) {
    const Tensor col = Tensor::randn({batch, classes}, DType::F32, g);
    ASSERT_LE(rel_diff(fused.step(col), plain.step(col).clone()), 1e-5) << "batch " << batch << " step " << s;
  }
  // Then one-hot inputs, as generation feeds them (the input conv becomes a lookup once its window
  // is all one-hot, and on the fused path pushes its output itself).
  for (int64_t s = 0; s < steps; ++s) {
    std::vector<int64_t> ids(static_cast<size_t>(batch));
    for (int64_t n = 0; n < batch; ++n) ids[size_t(n)] = (s * 7 + n * 3) % classes;
    ASSERT_LE(rel_diff(fused.step_indices(ids.data()), plain.step_indices(ids.data()).clone()), 1e-5)
        << "batch " << batch << " one-hot step " << s;
  }
}

TEST(FusedGates, StepsMatchTheTwoKernelsOnTheCpu) {
  Generator g1(4), g2(6);
  WaveNet wn(small_wavenet(), g1);
  SequnetRes su(small_sequnet(), g2);
  wn.set_training(false), su.set_training(false);
  for (int64_t batch : {1, 3, 8, 9}) {  // (9: above gated_affine's batch, the two kernels again)
    expect_fused_steps_match<WaveNetStepper>(wn, wn.receptive_field(), 9, 40, batch);
    expect_fused_steps_match<SequnetResStepper>(su, su.input_size(), 9, 3 * su.cycles() + 3, batch);
  }
  // Windows taller than a push may move (K = 17 > kMaxPushRows): fused products, pushes of their own
  // (also the input lookup's, after 17 one-hot steps).
  SequnetResConfig tall = small_sequnet();
  tall.kernel_size = 17, tall.num_levels = 3;
  Generator g3(8);
  SequnetRes su17(tall, g3);
  su17.set_training(false);
  expect_fused_steps_match<SequnetResStepper>(su17, su17.input_size(), 9, 17 + 2 * su17.cycles() + 1, 2);
}

// affine_ring is affine, then ring_push_gather of all its channels; it refuses a ring that
// cannot hold its taps or that overlaps what the product reads or writes, naming what is wrong.
TEST(StepKernels, AffineRingIsAffineThenRingPushGather) {
  Generator g(10);
  const StepKernels& k = backend(Device::cpu(), "test").step;
  const int64_t N = 2, M = 11, K = 7, slots = 5, d = 2, taps = 3;
  const Tensor X = Tensor::randn({N, K}, DType::F32, g), W = Tensor::randn({M, K}, DType::F32, g),
               b = Tensor::randn({M}, DType::F32, g), h = Tensor::randn({N, M}, DType::F32, g),
               queue = Tensor::randn({slots, N, M}, DType::F32, g);
  const Tensor pos = Tensor::full({1}, 7.0, DType::I64);
  Tensor y1 = h.clone(), q1 = queue.clone(), w1 = Tensor::zeros({N, taps * M});
  Tensor y2 = h.clone(), q2 = queue.clone(), w2 = Tensor::zeros({N, taps * M});
  k.affine_ring(N, M, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), y1.data<float>(), M, true,
                StepRing{q1.data<float>(), slots, d, taps, pos.data<int64_t>(), w1.data<float>()});
  k.affine(N, M, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), y2.data<float>(), M, true);
  k.ring_push_gather(N, M, 0, M, slots, d, taps, q2.data<float>(), pos.data<int64_t>(), y2.data<float>(), M,
                     w2.data<float>());
  EXPECT_EQ(y1.to_vector<float>(), y2.to_vector<float>());
  EXPECT_EQ(q1.to_vector<float>(), q2.to_vector<float>());
  EXPECT_EQ(w1.to_vector<float>(), w2.to_vector<float>());
  EXPECT_NE(w1.to_vector<float>(), Tensor::zeros({N, taps * M}).to_vector<float>());
  auto run = [&](const StepRing& r) {
    return seqnet::testing::error_of([&] {
      k.affine_ring(N, M, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), y1.data<float>(), M, true, r);
    });
  };
  float* q = q1.data<float>();
  float* w = w1.data<float>();
  const int64_t* p = pos.data<int64_t>();
  EXPECT_THAT(run(StepRing{nullptr, slots, d, taps, p, w}), ::testing::HasSubstr("without a queue"));
  EXPECT_THAT(run(StepRing{q, 4, d, taps, p, w}), ::testing::HasSubstr("fewer slots than its taps span"));
  EXPECT_THAT(run(StepRing{q, slots, d, 0, p, w}), ::testing::HasSubstr("fewer than 1 tap"));
  EXPECT_THAT(run(StepRing{y1.data<float>(), 1, 0, 1, p, w}),
              ::testing::HasSubstr("step affine_ring: a ring push whose queue or window overlaps the product's"));
  EXPECT_THAT(run(StepRing{q, slots, d, taps, p, q + 3}), ::testing::HasSubstr("queue overlaps its window"));
  EXPECT_EQ(run(StepRing{q, slots, d, taps, p, w}), "<no error>");
}

// The CPU twin of gated_affine is the two kernels it replaces, chunk by chunk (C = 300 > its
// chunk of 128 channels), with and without the identity.
TEST(StepKernels, GatedAffineIsAffineThenGated) {
  Generator g(9);
  const StepKernels& k = backend(Device::cpu(), "test").step;
  for (int64_t N : {1, 5})
    for (bool id : {false, true}) {
      const int64_t C = 300, K = 70, ldx = 73, ldw = 75, ld_out = 303;
      std::vector<float> wv = Tensor::randn({2 * C, ldw}, DType::F32, g).to_vector<float>();
      for (float& v : wv) v /= std::sqrt(float(K));  // ~ N(0, 1/K): pre-activations O(1), as in a trained layer
      const Tensor X = Tensor::randn({N, ldx}, DType::F32, g), W = Tensor::from_vector<float>(wv, {2 * C, ldw});
      const Tensor b = Tensor::randn({2 * C}, DType::F32, g), I = Tensor::randn({N, C + 1}, DType::F32, g);
      Tensor fg = Tensor::zeros({N, 2 * C}), want = Tensor::zeros({N, ld_out}), got = Tensor::zeros({N, ld_out});
      k.affine(N, 2 * C, K, X.data<float>(), ldx, W.data<float>(), ldw, b.data<float>(), fg.data<float>(), 2 * C,
               false);
      k.gated(N, C, 0, C, fg.data<float>(), id ? I.data<float>() : nullptr, C + 1, want.data<float>(), ld_out);
      k.gated_affine(N, C, K, X.data<float>(), ldx, W.data<float>(), ldw, b.data<float>(),
                     id ? I.data<float>() : nullptr, C + 1, got.data<float>(), ld_out, {});
      EXPECT_LE(rel_diff(got, want), 1e-6) << "N " << N << (id ? " with the identity" : "");
    }
  EXPECT_THAT(seqnet::testing::error_of(
                  [&] { k.gated_affine(9, 1, 1, nullptr, 1, nullptr, 1, nullptr, nullptr, 0, nullptr, 1, {}); }),
              ::testing::HasSubstr("step gated_affine: batch 9 outside [0, 8]"));
}

// lookup refuses a push whose window overlaps what it reads — its weight rows, its ids, its bias —
// as well as what step_pushes_error refuses; a window beside them is fine.
TEST(StepKernels, LookupPushesRefuseWindowsOverItsInputs) {
  const StepKernels& k = backend(Device::cpu(), "test").step;
  const int64_t N = 2, C = 6, K = 3, V = 4;
  Tensor W = Tensor::zeros({C, K * V}), bias = Tensor::zeros({C}), Y = Tensor::zeros({N, C});
  Tensor ids = Tensor::zeros({N, K}, DType::I64), win = Tensor::zeros({N, 2, C});
  const auto run = [&](float* window) {
    StepPushes p;
    p.count = 1, p.push[0] = StepPush{window, 2, C, 0, Y.data<float>(), C};
    return seqnet::testing::error_of([&] {
      k.lookup(N, 0, C, K, V, W.data<float>(), K * V, ids.data<int64_t>(), bias.data<float>(), Y.data<float>(), C, p);
    });
  };
  EXPECT_EQ(run(win.data<float>()), "<no error>");
  EXPECT_THAT(run(W.data<float>() + 5),
              ::testing::HasSubstr("step lookup: a window push into memory that overlaps the weights"));
  EXPECT_THAT(run(reinterpret_cast<float*>(ids.data<int64_t>())),
              ::testing::HasSubstr("overlaps the weights, the ids or the bias"));
  EXPECT_THAT(run(bias.data<float>()), ::testing::HasSubstr("overlaps the weights, the ids or the bias"));
  EXPECT_THAT(run(Y.data<float>()), ::testing::HasSubstr("overlaps the input, the identity or the output"));
}

// gated_affine's pushes are the window_push calls they replace, bit for bit: its own output
// (src = out) into a window of C columns and into the first half of a [x, cond] window whose
// second half comes from memory the kernel does not write; windows of 5 rows and of 1; C = 300
// spans three of the CPU twin's chunks. A window overlapping the input or the output, or a fourth
// push, is refused with the op's name.
TEST(StepKernels, GatedAffinePushesAreWindowPushes) {
  Generator g(10);
  const StepKernels& k = backend(Device::cpu(), "test").step;
  auto randn = [&](const Shape& s) { return Tensor::randn(s, DType::F32, g); };
  const int64_t N = 3, C = 300, K = 70;
  const Tensor X = randn({N, K}), W = randn({2 * C, K}), b = randn({2 * C}), cond = randn({N, C + 2});
  for (int64_t rows : {5, 1}) {
    Tensor out = Tensor::zeros({N, C}), want_out = Tensor::zeros({N, C});
    Tensor w1 = randn({N, rows, C}), w2 = randn({N, rows, 2 * C});
    Tensor want_w1 = w1.clone(), want_w2 = w2.clone();
    StepPushes p;
    p.count = 3;
    p.push[0] = StepPush{w1.data<float>(), rows, C, 0, out.data<float>(), C};
    p.push[1] = StepPush{w2.data<float>(), rows, 2 * C, 0, out.data<float>(), C};
    p.push[2] = StepPush{w2.data<float>(), rows, 2 * C, C, cond.data<float>(), C + 2};
    k.gated_affine(N, C, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), nullptr, 0, out.data<float>(), C,
                   p);
    k.gated_affine(N, C, K, X.data<float>(), K, W.data<float>(), K, b.data<float>(), nullptr, 0, want_out.data<float>(),
                   C, {});
    k.window_push(N, rows, C, want_w1.data<float>(), want_out.data<float>(), C, C, nullptr, 0);
    k.window_push(N, rows, 2 * C, want_w2.data<float>(), want_out.data<float>(), C, C, cond.data<float>(), C + 2);
    EXPECT_EQ(out.to_vector<float>(), want_out.to_vector<float>()) << rows << " rows";
    EXPECT_EQ(w1.to_vector<float>(), want_w1.to_vector<float>()) << rows << " rows";
    EXPECT_EQ(w2.to_vector<float>(), want_w2.to_vector<float>()) << rows << " rows";
  }
  {  // a relu push is the relu kernel on the output, NaN kept
    Tensor Xn = X.clone();
    Xn.data<float>()[7] = std::numeric_limits<float>::quiet_NaN();  // every output of sequence 0 is NaN
    Tensor out = Tensor::zeros({N, C}), r = Tensor::full({N, C}, 5.0), want = Tensor::zeros({N, C});
    StepPushes p;
    p.count = 1, p.push[0] = StepPush{r.data<float>(), 1, C, 0, out.data<float>(), C, true};
    k.gated_affine(N, C, K, Xn.data<float>(), K, W.data<float>(), K, b.data<float>(), nullptr, 0, out.data<float>(), C,
                   p);
    k.relu(N, 0, C, out.data<float>(), C, want.data<float>(), C);
    const std::vector<float> got = r.to_vector<float>(), expected = want.to_vector<float>();
    ASSERT_EQ(got.size(), expected.size());
    int64_t nans = 0, zeros = 0;
    for (size_t j = 0; j < got.size(); ++j) {
      ASSERT_EQ(std::isnan(got[j]), std::isnan(expected[j])) << j;
      if (std::isnan(got[j]))
        ++nans;
      else
        ASSERT_EQ(got[j], expected[j]) << j;
      zeros += got[j] == 0.0f;
    }
    EXPECT_EQ(nans, C);       // sequence 0
    EXPECT_GT(zeros, C / 4);  // about half of the others
  }
  Tensor out = Tensor::zeros({N, C}), win = Tensor::zeros({N, 5, C}), tall = Tensor::zeros({N, kMaxPushRows + 1, C});
  auto run = [&](const float* x, StepPushes p) {
    return seqnet::testing::error_of([&] {
      k.gated_affine(N, C, K, x, K, W.data<float>(), K, b.data<float>(), nullptr, 0, out.data<float>(), C, p);
    });
  };
  const StepPush ok{win.data<float>(), 5, C, 0, out.data<float>(), C};
  StepPushes into_out, too_tall, too_narrow, four, fine, twice, strided_out, from_window;
  into_out.count = 1, into_out.push[0] = StepPush{out.data<float>(), 1, C, 0, cond.data<float>(), C + 2};
  too_tall.count = 1, too_tall.push[0] = StepPush{tall.data<float>(), kMaxPushRows + 1, C, 0, out.data<float>(), C};
  too_narrow.count = 1, too_narrow.push[0] = StepPush{win.data<float>(), 5, C, 1, out.data<float>(), C};
  four.count = kMaxStepPushes + 1;
  for (int i = 0; i < kMaxStepPushes; ++i) four.push[i] = ok;
  fine.count = 1, fine.push[0] = ok;
  twice.count = 2, twice.push[0] = ok, twice.push[1] = ok;
  strided_out.count = 1, strided_out.push[0] = StepPush{win.data<float>(), 5, C, 0, out.data<float>(), 1};
  from_window.count = 1, from_window.push[0] = StepPush{win.data<float>(), 5, C, 0, win.data<float>() + C, C};
  const std::pair<const StepPushes*, const char*> wrong[] = {
      {&into_out, "step gated_affine: a window push into memory that overlaps the input, the identity or the output"},
      {&too_tall, "step gated_affine: a window push of rows outside [1, kMaxPushRows = 16] (1 pushes of 300 channels)"},
      {&too_narrow, "step gated_affine: a window push whose C columns fall outside the window's rows"},
      {&four, "step gated_affine: a count of window pushes outside [0, kMaxStepPushes = 3] (4 pushes"},
      {&twice, "step gated_affine: two window pushes into the same columns of a window (2 pushes"},
      {&strided_out, "step gated_affine: a window push whose source overlaps the output without being it"},
      {&from_window, "step gated_affine: a window push whose source lies in a pushed window"}};
  for (const auto& [p, message] : wrong) EXPECT_THAT(run(X.data<float>(), *p), ::testing::HasSubstr(message));
  EXPECT_THAT(run(win.data<float>(), fine), ::testing::HasSubstr("overlaps the input"));  // X inside the window
  EXPECT_EQ(run(X.data<float>(), fine), "<no error>");
}

// With its gated convs fused, a residual Seq-U-Net step also pushes each output into the windows
// it feeds from inside the kernel that makes it, so a step queues far fewer kernels (the count
// that bounds batch-1 generation on a GPU, docs/generation.md §5); the output's relu rides in the
// last conv's kernel, and the input lookup pushes its own output too. Per generation step (one-hot
// input) where the levels 0 … j fire (n the deepest): unfused 17 + 20 per level below n + 13 for
// level n; fused 7 + 7 per level below n + 5 for level n. Over the audio model's cycle (11
// levels, depth 2, K = 5; narrow here) that is 36.97 a step unfused and 13.99 fused, plus the draw
// of a generation loop (whose kernel also ticks the loop's counter): 38 → 15. In the generation
// loop itself the draw pushes its symbol into the input lookup's window of ids, so the one-hot
// push is gone too: 12.99 a step, 14 with the draw. At batch 9, above gated_affine's, nothing
// is fused; a dense input column (an affine, not a lookup) costs the fused step one kernel more.
TEST(FusedGates, SequnetPushesRideInTheGatedConvs) {
  // Kernels per step over one clock cycle, after K one-hot steps (the input conv then looks its
  // weight columns up), each paired with the deepest level that fires at its clock. Input: dense
  // columns, host indices (step_indices), or indices pushed into ids_buffer() as a generation
  // loop's draw pushes them (step_ids).
  enum Input { Dense, Indices, Drawn };
  auto counts = [](SequnetRes& model, int64_t batch, bool fused, Input input) {
    Generator g(23);
    NoGradGuard no_grad;
    SequnetResStepper st(model);
    st.set_fused_gates(fused);
    st.save(Tensor::randn({batch, 9, model.input_size()}, DType::F32, g));
    const std::vector<int64_t> ids(static_cast<size_t>(batch), 4);
    const int64_t n = model.config().num_levels - 1;
    for (int64_t s = 0; s < model.config().kernel_size; ++s) st.step_indices(ids.data());
    std::vector<std::pair<int64_t, int64_t>> per_step;  // (deepest level firing, kernels)
    for (int64_t s = 0; s < model.cycles(); ++s) {
      const int64_t t = st.clock();
      int64_t deepest = 0;
      while (deepest < n && (t == 0 || t % (int64_t(2) << deepest) == 0)) ++deepest;
      if (input == Indices) {
        st.step_indices(ids.data());
      } else if (input == Drawn) {  // the draw's push: every row of the window moves up one entry
        int64_t* w = st.ids_buffer();
        const int64_t rows = st.ids_rows();
        for (int64_t b = 0; b < batch; ++b) {
          for (int64_t r = 0; r + 1 < rows; ++r) w[b * rows + r] = w[b * rows + r + 1];
          w[b * rows + rows - 1] = 4;
        }
        st.step_ids();
      } else {
        st.step(Tensor::randn({batch, 9}, DType::F32, g));
      }
      per_step.emplace_back(deepest, st.kernels_last_step());
    }
    return per_step;
  };
  auto expect_per_level = [](const std::vector<std::pair<int64_t, int64_t>>& got, std::vector<int64_t> by_level,
                             const char* what) {
    std::vector<int64_t> levels_seen(by_level.size(), 0);
    for (const auto& [level, kernels] : got) {
      ASSERT_LT(size_t(level), by_level.size()) << what;
      EXPECT_EQ(kernels, by_level[size_t(level)]) << what << ": a step whose deepest firing level is " << level;
      ++levels_seen[size_t(level)];
    }
    for (int64_t seen : levels_seen) EXPECT_GT(seen, 0) << what << ": every level fires in a cycle";
  };
  auto sum = [](const std::vector<std::pair<int64_t, int64_t>>& v) {
    int64_t total = 0;
    for (const auto& [level, kernels] : v) total += kernels;
    return total;
  };
  Generator g1(6), g2(7);
  SequnetRes small(small_sequnet(), g1);  // 4 levels: n = 3
  small.set_training(false);
  expect_per_level(counts(small, 1, false, Indices), {17, 37, 57, 70}, "unfused");
  expect_per_level(counts(small, 1, true, Indices), {7, 14, 21, 26}, "fused");
  expect_per_level(counts(small, 1, true, Drawn), {6, 13, 20, 25}, "fused, drawn ids");
  expect_per_level(counts(small, 1, false, Drawn), {16, 36, 56, 69}, "unfused, drawn ids");
  expect_per_level(counts(small, 1, true, Dense), {8, 15, 22, 27}, "fused, dense input");
  EXPECT_EQ(counts(small, 9, true, Indices), counts(small, 9, false, Indices));
  SequnetResConfig audio = small_sequnet();
  audio.num_channels = 3, audio.num_levels = 11;
  SequnetRes deep(audio, g2);
  deep.set_training(false);
  EXPECT_EQ(sum(counts(deep, 1, false, Indices)), 17 * 1024 + 20 * 1022 + 13);  // 36.97 a step
  EXPECT_EQ(sum(counts(deep, 1, true, Indices)), 7 * 1024 + 7 * 1022 + 5);      // 13.99 a step
  EXPECT_EQ(sum(counts(deep, 1, true, Drawn)), 6 * 1024 + 7 * 1022 + 5);        // 12.99 a step
}

// A WaveNet step's kernels, counted as a GPU runs them: the position tick, the start conv's
// lookup, per layer the queue push, the gated conv (product and gate: two kernels, one fused) and
// the residual conv (none in the last layer), then the skip product, two relus and two end convs.
// Fused, each residual conv also pushes into the next layer's queue (affine_ring): the audio
// model's 4 × 13 layers take 214 kernels unfused and 111 fused (162 before the residual convs took
// the push; with a generation loop's draw: 215 → 112). At batch 9, above the row kernels', nothing
// is fused.
TEST(FusedGates, WaveNetResidualConvsPushIntoTheNextQueue) {
  WaveNetConfig audio = small_wavenet();
  audio.layers = 13, audio.blocks = 4;
  Generator g(12);
  WaveNet wn(audio, g);
  wn.set_training(false);
  NoGradGuard no_grad;
  auto count = [&](int64_t batch, bool fused) {
    WaveNetStepper st(wn);
    st.set_fused_gates(fused);
    st.save(Tensor::randn({batch, 9, wn.receptive_field()}, DType::F32, g));
    const std::vector<int64_t> ids(static_cast<size_t>(batch), 3);
    st.step_indices(ids.data());
    const int64_t first = st.kernels_last_step();
    st.step_ids();
    EXPECT_EQ(st.kernels_last_step(), first) << "step_ids queues what step_indices queues";
    return first;
  };
  EXPECT_EQ(count(1, false), 214);
  EXPECT_EQ(count(1, true), 111);
  EXPECT_EQ(count(9, true), 214);
}

TEST(GpuSteps, WaveNetMatchesTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g1(4), g2(4);
  WaveNet a(small_wavenet(), g1), b(small_wavenet(), g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  for (int64_t batch : {1, 3, 12}) expect_gpu_steps_match<WaveNetStepper>(a, b, a.receptive_field() + 2, 9, 40, batch);
}

TEST(GpuSteps, SequnetResMatchesTheCpuOverThreeClockCycles) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g1(6), g2(6);
  SequnetRes a(small_sequnet(), g1), b(small_sequnet(), g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  for (int64_t batch : {1, 3, 12})
    expect_gpu_steps_match<SequnetResStepper>(a, b, a.input_size(), 9, 3 * a.cycles() + 3, batch);
}

// step::generate on the CPU and the GPU, from the same prompt and seed: the same symbols (greedy
// always; sampled unless a draw lands within float rounding of a class boundary, which these
// seeds do not), and on the GPU the same with and without recorded phases.
template <class Stepper, class Model>
void expect_gpu_generation_matches(Model& cpu_model, Model& gpu_model, int64_t input_size, int64_t classes,
                                   int64_t expect_phases_at_most) {
  NoGradGuard no_grad;
  Generator data(8);
  // batch 12: the products run on cuBLAS, inside the recordings too
  for (int64_t batch : {2, 12})
    for (double T : {0.0, 1.0}) {
      const Tensor prompt = Tensor::randn({batch, classes, input_size}, DType::F32, data);
      std::vector<std::vector<int64_t>> runs;
      for (int variant = 0; variant < 3; ++variant) {  // cpu, gpu recorded, gpu queued
        const Device d = variant == 0 ? Device::cpu() : gpu_device();
        Stepper st(variant == 0 ? cpu_model : gpu_model, step::Weights::F32, d);
        const Tensor y = st.save(prompt);
        const Tensor first = y.select(2, y.size(2) - 1).to(d).contiguous();
        Generator g(31);
        step::GenerateStats stats;
        const Tensor ids = step::generate(st, first, 50, T, g, variant != 2, &stats);
        if (variant == 1) {
          if (gpu_is_real()) {  // (the CPU of a dry run records nothing)
            EXPECT_GE(stats.recordings, 1);
            EXPECT_LE(stats.recordings, expect_phases_at_most);
            EXPECT_EQ(stats.replays, 48);  // steps 1 … 48; the last (49) is queued
          }
        } else {
          EXPECT_EQ(stats.recordings, 0);
        }
        runs.push_back(ids.to_vector<int64_t>());
      }
      EXPECT_EQ(runs[1], runs[0]) << "batch " << batch << " temperature " << T << ": GPU (recorded) vs CPU";
      EXPECT_EQ(runs[2], runs[1]) << "batch " << batch << " temperature " << T << ": GPU queued vs recorded";
    }
}

TEST(GpuSteps, WaveNetGenerationPicksTheCpuSymbols) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g1(4), g2(4);
  WaveNet a(small_wavenet(), g1), b(small_wavenet(), g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  expect_gpu_generation_matches<WaveNetStepper>(a, b, a.receptive_field(), 9, 1);
}

TEST(GpuSteps, SequnetResGenerationPicksTheCpuSymbols) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g1(6), g2(6);
  SequnetRes a(small_sequnet(), g1), b(small_sequnet(), g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  // phases: levels 0 .. n + 1, each with and without the one-hot input lookup
  expect_gpu_generation_matches<SequnetResStepper>(a, b, a.input_size(), 9, 2 * (a.cycles() > 1 ? 5 : 1));
}

TEST(GpuSteps, TcnMatchesTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  TCNConfig c;
  c.num_inputs = 7, c.num_channels = {9, 9, 6, 6}, c.kernel_size = 3;
  Generator g1(3), g2(3);
  TCN a(c, g1), b(c, g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  NoGradGuard no_grad;
  Generator data(5);
  for (int64_t batch : {1, 3, 12}) {
    const Tensor prompt = Tensor::randn({batch, 7, 20}, DType::F32, data);
    TcnStepper cpu(a), gpu(b, step::Weights::F32, gpu_device());
    EXPECT_LE(rel_diff(gpu.save(prompt), cpu.save(prompt)), 1e-5);
    for (int64_t s = 0; s < 40; ++s) {
      const Tensor col = Tensor::randn({batch, 7}, DType::F32, data);
      ASSERT_LE(rel_diff(gpu.step(col.to(gpu_device())), cpu.step(col)), 1e-5) << "batch " << batch << " step " << s;
    }
  }
}

// The basic Seq-U-Net's clocked step mode, valid and padded, on both devices: the save and every
// step within 1e-5 of the largest |output| over three clock cycles (every phase, every up block's
// cached odd-tap output), at batch 1, 3 and 12 (cuBLAS products).
TEST(GpuSteps, SequnetMatchesTheCpuOverThreeClockCycles) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  for (bool padded : {false, true}) {
    SequnetConfig c;
    c.num_inputs = 5, c.num_channels = {8, 10, 12, 9}, c.num_outputs = 6, c.kernel_size = 5, c.dropout = 0.0;
    if (!padded) c.target_output_size = 1;
    Generator g1(7), g2(7);
    Sequnet a(c, g1), b(c, g2);
    a.set_training(false), b.set_training(false);
    b.params().store_on(gpu_device());
    NoGradGuard no_grad;
    Generator data(5);
    const int64_t T = padded ? 37 : a.input_size();
    for (int64_t batch : {1, 3, 12}) {
      const Tensor prompt = Tensor::randn({batch, 5, T}, DType::F32, data);
      SequnetStepper cpu(a), gpu(b, step::Weights::F32, gpu_device());
      EXPECT_LE(rel_diff(gpu.save(prompt), cpu.save(prompt)), 1e-5) << (padded ? "padded" : "valid");
      double worst = 0;
      for (int64_t s = 0; s < 3 * cpu.cycles() + 3; ++s) {
        const Tensor col = Tensor::randn({batch, 5}, DType::F32, data);
        EXPECT_EQ(gpu.phase(), cpu.phase());
        const double d = rel_diff(gpu.step(col.to(gpu_device())), cpu.step(col));
        ASSERT_LE(d, 1e-5) << (padded ? "padded" : "valid") << " batch " << batch << " step " << s;
        worst = std::max(worst, d);
      }
      std::printf("[ gpu step ] basic Seq-U-Net (%s), batch %lld: max |gpu − cpu| / max |cpu| %.2e\n",
                  padded ? "padded" : "valid", (long long)batch, worst);
    }
  }
}

// A language model (TCN, and basic Seq-U-Net with its clock phases) on both devices: step::generate
// picks the same symbols on the CPU and the GPU, recorded and queued.
TEST(GpuSteps, LanguageModelsGenerateTheCpuSymbols) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  for (const char* model : {"tcn", "sequnet"}) {
    const LanguageModelConfig cfg{model, 300, 6, {9, 7, 6}, 3, 0.0, 0.0, 6, true, false};
    Generator g1(11), g2(11);
    LanguageModel a(cfg, g1), b(cfg, g2);
    a.set_training(false), b.set_training(false);
    b.params().store_on(gpu_device());
    NoGradGuard no_grad;
    const int64_t T0 = std::string(model) == "tcn" ? 5 : a.input_size(6);
    std::vector<int64_t> tok;
    for (int64_t i = 0; i < 2 * T0; ++i) tok.push_back((i * 37 + 3) % 300);
    const Tensor tokens = Tensor::from_vector<int64_t>(tok, {2, T0});
    for (double T : {0.0, 1.0}) {
      std::vector<std::vector<int64_t>> runs;
      for (int variant = 0; variant < 3; ++variant) {
        const Device d = variant == 0 ? Device::cpu() : gpu_device();
        LanguageModelStepper st(variant == 0 ? a : b, step::Weights::F32, d);
        const Tensor& first = st.save(tokens);
        Generator g(17);
        step::GenerateStats stats;
        runs.push_back(step::generate(st, first, 60, T, g, variant != 2, &stats).to_vector<int64_t>());
        if (variant == 1 &&
            gpu_is_real()) {  // one recording per clock phase: the TCN has 1, this Seq-U-Net (3 levels) 3
          EXPECT_EQ(stats.recordings, std::string(model) == "tcn" ? 1 : 3) << model;
        }
      }
      EXPECT_EQ(runs[1], runs[0]) << model << " temperature " << T << ": GPU vs CPU";
      EXPECT_EQ(runs[2], runs[1]) << model << " temperature " << T << ": GPU queued vs recorded";
    }
  }
}

// On the CPU, step::generate is the host loop `seqnet generate` ran before: save, draw from the
// newest column, step_indices, draw, ... with one next_u64 per draw.
TEST(GenerationLoop, CpuLoopEqualsTheHostLoop) {
  NoGradGuard no_grad;
  Generator g0(4);
  WaveNet wn(small_wavenet(), g0);
  SequnetRes su(small_sequnet(), g0);
  wn.set_training(false), su.set_training(false);
  Generator data(9);
  auto check = [&](auto& st, const Tensor& prompt, const char* tag) {
    for (double T : {0.0, 1.0}) {
      const Tensor y = st.save(prompt);
      const Tensor first = y.select(2, y.size(2) - 1).contiguous();
      Generator g(12);
      const Tensor got = step::generate(st, first, 30, T, g);
      // the host loop on a fresh save
      const Tensor y2 = st.save(prompt);
      Tensor logits = y2.select(2, y2.size(2) - 1).contiguous();
      Generator h(12);
      std::vector<int64_t> want;
      const int64_t N = prompt.size(0), C = logits.size(1);
      for (int64_t s = 0; s < 30; ++s) {
        std::vector<int64_t> ids;
        for (int64_t n = 0; n < N; ++n) ids.push_back(host_draw(logits.data<float>() + n * C, C, T, h));
        want.insert(want.end(), ids.begin(), ids.end());
        if (s + 1 < 30) logits = st.step_indices(ids.data()).clone();
      }
      EXPECT_EQ(got.to_vector<int64_t>(), want) << tag << " temperature " << T;
      EXPECT_EQ(g.state(), h.state()) << tag;
    }
  };
  WaveNetStepper ws(wn);
  SequnetResStepper ss(su);
  check(ws, Tensor::randn({2, 9, wn.receptive_field()}, DType::F32, data), "wavenet");
  check(ss, Tensor::randn({2, 9, su.input_size()}, DType::F32, data), "sequnet_res");
}

// In step::generate the residual Seq-U-Net's input window of floats is not pushed once the
// input conv takes its lookup (the draw pushes the window of ids the lookup reads); a dense column
// after that rebuilds the float rows from the ids first. The steps after a generation then equal
// those of a stepper fed the same symbols through step_indices, bit for bit, whatever mixes
// dense and drawn inputs — fused or not, and across a second generation.
TEST(GenerationLoop, SequnetResDenseStepAfterDrawnIdsSeesTheDrawnInputs) {
  NoGradGuard no_grad;
  Generator g0(4), data(9);
  SequnetRes su(small_sequnet(), g0);
  su.set_training(false);
  for (bool fused : {false, true}) {
    SequnetResStepper a(su), b(su);
    a.set_fused_gates(fused), b.set_fused_gates(fused);
    const Tensor prompt = Tensor::randn({2, 9, su.input_size()}, DType::F32, data);
    const Tensor ya = a.save(prompt);
    b.save(prompt);
    Tensor first = ya.select(2, ya.size(2) - 1).contiguous();
    for (int round = 0; round < 2; ++round) {
      Generator g(12 + round);
      const int64_t steps = 11 + round;  // more than K: the float window goes stale
      const Tensor drawn = step::generate(a, first, steps, 1.0, g);
      const std::vector<int64_t> h = drawn.to_vector<int64_t>();
      for (int64_t s = 0; s + 1 < steps; ++s) b.step_indices(h.data() + s * 2);
      ASSERT_EQ(rel_diff(a.output(), b.output()), 0.0) << "fused " << fused << ", round " << round;
      for (int k = 0; k < 3; ++k) {  // dense columns, then one-hot ones through step_indices
        const Tensor x = Tensor::randn({2, 9}, DType::F32, data);
        const Tensor oa = a.step(x).clone();
        ASSERT_EQ(rel_diff(b.step(x), oa), 0.0) << "fused " << fused << ", round " << round << ", dense step " << k;
      }
      // A symbol fed from the host continues both: the next generation starts from here.
      const int64_t ids[2] = {3, 7};
      first = a.step_indices(ids).clone();
      ASSERT_EQ(rel_diff(b.step_indices(ids), first), 0.0) << "fused " << fused;
    }
  }
}

// The same for the language models' stepper (TCN and basic Seq-U-Net backbones): step::generate
// draws what the host loop of seqnet generate drew.
TEST(GenerationLoop, CpuLanguageModelLoopEqualsTheHostLoop) {
  NoGradGuard no_grad;
  for (const char* model : {"tcn", "sequnet"}) {
    Generator g0(4);
    LanguageModel lm({model, 13, 6, {9, 7, 6}, 3, 0.0, 0.0, 6, true, false}, g0);
    lm.set_training(false);
    const int64_t T0 = std::string(model) == "tcn" ? 5 : lm.input_size(6);
    std::vector<int64_t> tok;
    for (int64_t i = 0; i < 2 * T0; ++i) tok.push_back((i * 5 + 3) % 13);
    const Tensor tokens = Tensor::from_vector<int64_t>(tok, {2, T0});
    for (double T : {0.0, 1.0}) {
      LanguageModelStepper st(lm);
      Generator g(12);
      const Tensor got = step::generate(st, st.save(tokens), 30, T, g);
      Generator h(12);
      std::vector<int64_t> want;
      const Tensor* logits = &st.save(tokens);
      for (int64_t s = 0; s < 30; ++s) {
        std::vector<int64_t> ids;
        for (int64_t n = 0; n < 2; ++n) ids.push_back(host_draw(logits->data<float>() + n * 13, 13, T, h));
        want.insert(want.end(), ids.begin(), ids.end());
        if (s + 1 < 30) logits = &st.step(ids.data());
      }
      EXPECT_EQ(got.to_vector<int64_t>(), want) << model << " temperature " << T;
    }
  }
}

// A music model (TCN and basic Seq-U-Net backbones): step::generate_frames draws what the host loop
// of seqnet generate drew — every key from its own next_u64(), sequences then keys in order — and
// leaves the generator in the same state.
PolyMusicConfig small_music(const char* model) {
  PolyMusicConfig c;
  c.model = model, c.input_size = 88, c.output_size = 88, c.num_channels = {10, 8, 6}, c.kernel_size = 3;
  c.dropout = 0.0;
  return c;
}

// A random piano roll (N, T, 88): each key on with probability 0.2.
Tensor random_roll(int64_t N, int64_t T, Generator& g) {
  Tensor r = Tensor::uniform({N, T, 88}, 0.0, 1.0, DType::F32, g);
  for (int64_t i = 0; i < r.numel(); ++i) r.data<float>()[i] = r.data<float>()[i] > 0.8f ? 1.0f : 0.0f;
  return r;
}

std::vector<float> host_music_loop(PolyMusicStepper& st, const Tensor& roll, int64_t steps, double T, Generator& h) {
  const int64_t N = roll.size(0), C = 88;
  std::vector<float> frames;
  const Tensor* logits = &st.save(roll);
  Tensor frame = Tensor::zeros({N, C});
  for (int64_t s = 0; s < steps; ++s) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t c = 0; c < C; ++c) {
        const double x = logits->data<float>()[n * C + c];
        const bool on = T == 0 ? x > 0 : u64_to_unit_double(h.next_u64()) < 1.0 / (1.0 + std::exp(-x / T));
        frame.data<float>()[n * C + c] = on ? 1.0f : 0.0f;
        frames.push_back(on ? 1.0f : 0.0f);
      }
    if (s + 1 < steps) logits = &st.step(frame);
  }
  return frames;
}

TEST(GenerationLoop, CpuMusicLoopEqualsTheHostLoop) {
  NoGradGuard no_grad;
  for (const char* model : {"tcn", "sequnet"}) {
    Generator g0(4);
    PolyMusicModel pm(small_music(model), g0);
    pm.set_training(false);
    Generator data(3);
    const Tensor roll = random_roll(2, 13, data);
    for (double T : {0.0, 0.7}) {
      PolyMusicStepper st(pm);
      Generator g(12), h(12);
      step::GenerateStats stats;
      const Tensor got = step::generate_frames(st, st.save(roll), 25, T, g, true, &stats);
      EXPECT_EQ(got.shape(), (Shape{25, 2, 88}));
      EXPECT_EQ(stats.recordings, 0);  // the CPU records nothing
      const std::vector<float> want = host_music_loop(st, roll, 25, T, h);
      EXPECT_EQ(got.to_vector<float>(), want) << model << " temperature " << T;
      EXPECT_EQ(g.state(), h.state()) << model;
      double on = 0;
      for (float v : want) on += v;
      EXPECT_GT(on, 0) << model << ": some key is on";
      EXPECT_LT(on, double(want.size())) << model << ": some key is off";
    }
  }
}

// The music models on the GPU: the same frames as on the CPU, recorded and queued.
TEST(GpuSteps, MusicModelsGenerateTheCpuFrames) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  NoGradGuard no_grad;
  for (const char* model : {"tcn", "sequnet"}) {
    Generator g1(4), g2(4);
    PolyMusicModel a(small_music(model), g1), b(small_music(model), g2);
    a.set_training(false), b.set_training(false);
    b.params().store_on(gpu_device());
    Generator data(3);
    const Tensor roll = random_roll(3, 13, data);
    for (double T : {0.0, 0.7}) {
      std::vector<std::vector<float>> runs;
      for (int variant = 0; variant < 3; ++variant) {
        const Device d = variant == 0 ? Device::cpu() : gpu_device();
        PolyMusicStepper st(variant == 0 ? a : b, step::Weights::F32, d);
        const Tensor& first = st.save(roll);
        Generator g(17);
        runs.push_back(step::generate_frames(st, first, 40, T, g, variant != 2).to_vector<float>());
      }
      EXPECT_EQ(runs[1], runs[0]) << model << " temperature " << T << ": GPU vs CPU";
      EXPECT_EQ(runs[2], runs[1]) << model << " temperature " << T << ": GPU queued vs recorded";
    }
  }
}

TEST(GenerationLoop, GpuOnlyOptionsAreRefusedClearly) {
  Generator g(4);
  WaveNet wn(small_wavenet(), g);
  if (have_gpu()) {
    EXPECT_THAT(seqnet::testing::error_of([&] { WaveNetStepper s(wn, step::Weights::F16, gpu_device()); }),
                ::testing::HasSubstr("use f32 weights"));
  }
  WaveNetStepper st(wn);
  NoGradGuard no_grad;
  const Tensor y = st.save(Tensor::randn({1, 9, wn.receptive_field()}, DType::F32, g));
  EXPECT_THAT(seqnet::testing::error_of([&] { step::generate(st, y.select(2, 0).to(DType::F64), 5, 1.0, g); }),
              ::testing::HasSubstr("step::generate: expected the first logits"));
}

// ---- the WaveNet's persistent loop (ops/kernels/wavenet_loop.h) ----------------------------------

// The first draw of a loop run by hand: draw 0 from the newest save column into ids and history.
Tensor first_draw(WaveNetStepper& st, const Tensor& y, int64_t steps, double T, uint64_t seed) {
  const int64_t N = y.size(0), C = y.size(1);
  const Tensor first = y.select(2, y.size(2) - 1).contiguous();
  Tensor history = Tensor::zeros({steps, N}, DType::I64, st.device());
  const Tensor count = Tensor::zeros({1}, DType::I64, st.device());
  backend(st.device(), "test")
      .step.sample(N, C, first.data<float>(), C, T, seed, 0, count.data<int64_t>(), st.ids_buffer(), st.ids_rows(),
                   history.data<int64_t>(), false);
  return history;
}

// The CPU twin of the loop draws what step::generate draws, leaves the stepper where step::generate
// leaves it (the next steps agree), and consumes the same random numbers; in chunks of 7 samples
// (the ring position carries over from one call to the next).
TEST(WaveNetLoop, CpuTwinDrawsWhatStepGenerateDraws) {
  NoGradGuard no_grad;
  Generator g0(4), data(9);
  WaveNet wn(small_wavenet(), g0);
  wn.set_training(false);
  for (int64_t batch : {1, 3, 8}) {
    const Tensor prompt = Tensor::randn({batch, 9, wn.receptive_field() + 3}, DType::F32, data);
    for (double T : {0.0, 1.0}) {
      WaveNetStepper a(wn), b(wn);
      const Tensor ya = a.save(prompt), yb = b.save(prompt);
      Generator ga(12), gb(12);
      const Tensor want = step::generate(a, ya.select(2, ya.size(2) - 1).contiguous(), 40, T, ga);
      int64_t calls = 0;
      const Tensor got = b.generate_persistent(
          yb.select(2, yb.size(2) - 1).contiguous(), 40, T, gb, [&](int64_t) { ++calls; }, 0, 7);
      EXPECT_EQ(got.to_vector<int64_t>(), want.to_vector<int64_t>()) << "batch " << batch << " temperature " << T;
      EXPECT_EQ(gb.state(), ga.state());
      EXPECT_EQ(calls, 6 + 1);  // before each of the 6 chunks (39 steps), and once at the end
      EXPECT_LE(rel_diff(b.output(), a.output()), 1e-5);
      for (int64_t k = 0; k < 4; ++k) {
        std::vector<int64_t> ids(static_cast<size_t>(batch));
        for (int64_t n = 0; n < batch; ++n) ids[size_t(n)] = (k * 5 + n * 2) % 9;
        const Tensor oa = a.step_indices(ids.data()).clone();
        ASSERT_LE(rel_diff(b.step_indices(ids.data()), oa), 1e-5) << "the step after the loop, " << k;
      }
    }
  }
}

// Every stage reads only what earlier stages wrote: the emulated loop gives the same bits whatever
// the number of workers, their lanes and their order within a stage (a stage that read what a
// worker of the same stage writes would depend on them; an element dealt to no lane, or to two,
// would show too).
TEST(WaveNetLoop, EveryWorkerCountAndOrderGivesTheSameBits) {
  NoGradGuard no_grad;
  Generator g0(4), data(3);
  WaveNet wn(small_wavenet(), g0);
  wn.set_training(false);
  for (int64_t batch : {1, 5}) {
    const Tensor prompt = Tensor::randn({batch, 9, wn.receptive_field()}, DType::F32, data);
    std::vector<int64_t> ref_hist;
    std::vector<float> ref_out, ref_next;
    // (workers, lanes per worker, reversed): lanes 32 deal a stage's elements as a GPU's warps do
    for (auto [workers, lanes, reverse] : std::vector<std::tuple<int64_t, int64_t, bool>>{{1, 1, false},
                                                                                          {2, 1, true},
                                                                                          {3, 1, false},
                                                                                          {3, 1, true},
                                                                                          {7, 1, true},
                                                                                          {64, 1, false},
                                                                                          {200, 1, true},
                                                                                          {1, 32, false},
                                                                                          {5, 32, true},
                                                                                          {80, 32, false}}) {
      WaveNetStepper st(wn);
      const Tensor y = st.save(prompt);
      const Tensor history = first_draw(st, y, 25, 1.0, 5);
      Tensor table;
      WaveNetLoop a = st.loop_args(table);
      a.history = history.data<int64_t>(), a.temperature = 1.0, a.seed = 5;
      cpu::wavenet_loop_emulated(a, 1, 13, workers, reverse, lanes);
      cpu::wavenet_loop_emulated(a, 13, 25, workers, reverse, lanes);
      const std::vector<float> out = st.output().to_vector<float>();
      std::vector<int64_t> ids(static_cast<size_t>(batch), 4);
      const std::vector<float> next = st.step_indices(ids.data()).to_vector<float>();
      if (ref_hist.empty()) {
        ref_hist = history.to_vector<int64_t>(), ref_out = out, ref_next = next;
        continue;
      }
      const std::string tag =
          fmt::format("batch {}, {} workers of {} lanes{}", batch, workers, lanes, reverse ? ", reversed" : "");
      EXPECT_EQ(history.to_vector<int64_t>(), ref_hist) << tag;
      EXPECT_EQ(out, ref_out) << tag;
      EXPECT_EQ(next, ref_next) << tag << ": the step after the loop";
    }
  }
}

TEST(WaveNetLoop, ClearErrors) {
  NoGradGuard no_grad;
  Generator g0(4), data(3);
  WaveNet wn(small_wavenet(), g0);
  wn.set_training(false);
  Generator g(1);
  {
    WaveNetStepper st(wn);
    EXPECT_THAT(seqnet::testing::error_of([&] {
                  st.generate_persistent(Tensor::zeros({1, 9}), 5, 1.0, g);
                }),
                ::testing::HasSubstr("call save first"));
    const Tensor y = st.save(Tensor::randn({9, 9, wn.receptive_field()}, DType::F32, data));
    EXPECT_THAT(
        seqnet::testing::error_of([&] { st.generate_persistent(y.select(2, y.size(2) - 1).contiguous(), 5, 1.0, g); }),
        ::testing::HasSubstr("batch 9 is above the loop's 8"));
  }
  {
    WaveNetStepper st(wn, step::Weights::F16);
    const Tensor y = st.save(Tensor::randn({1, 9, wn.receptive_field()}, DType::F32, data));
    EXPECT_THAT(
        seqnet::testing::error_of([&] { st.generate_persistent(y.select(2, y.size(2) - 1).contiguous(), 5, 1.0, g); }),
        ::testing::HasSubstr("the loop multiplies f32 weights only, got f16"));
  }
}

// The CUDA loop (one cooperative kernel per chunk) draws the CPU's symbols at batch 1, 3 and 8,
// greedy and sampled, on the default grid, on a 2-block one (many rows per warp) and on 16 and 32
// blocks (the bench's grids: more warps than rows, most lanes idle in the small stages); its logits
// within 1e-5 of the CPU's; a rerun gives the same bits; and the stepper goes on from there.
TEST(GpuSteps, WaveNetPersistentLoopDrawsTheCpuSymbols) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Generator g1(4), g2(4), data(8);
  WaveNet a(small_wavenet(), g1), b(small_wavenet(), g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  NoGradGuard no_grad;
  for (int64_t batch : {1, 3, 8})
    for (double T : {0.0, 1.0}) {
      const Tensor prompt = Tensor::randn({batch, 9, a.receptive_field()}, DType::F32, data);
      WaveNetStepper cpu(a);
      const Tensor y = cpu.save(prompt);
      Generator gc(31);
      const std::vector<int64_t> want =
          step::generate(cpu, y.select(2, y.size(2) - 1).contiguous(), 60, T, gc).to_vector<int64_t>();
      std::vector<float> first_run;
      for (int64_t grid : {0, 0, 2, 16, 32}) {
        WaveNetStepper gpu(b, step::Weights::F32, gpu_device());
        const Tensor yg = gpu.save(prompt);
        Generator gg(31);
        const Tensor got = gpu.generate_persistent(yg.select(2, yg.size(2) - 1).to(gpu_device()).contiguous(), 60, T,
                                                   gg, {}, grid, 16);
        const std::string tag = fmt::format("batch {}, temperature {}, grid {}", batch, T, grid);
        EXPECT_EQ(got.to_vector<int64_t>(), want) << tag;
        EXPECT_LE(rel_diff(gpu.output(), cpu.output()), 1e-5) << tag;
        const std::vector<float> out = gpu.output().to(Device::cpu()).to_vector<float>();
        if (first_run.empty())
          first_run = out;
        else
          EXPECT_EQ(out, first_run) << tag << ": a rerun (or another grid) gives other bits";
      }
    }
  // After the loop the stepper goes on as after step::generate: both at batch 2.
  const Tensor prompt = Tensor::randn({2, 9, a.receptive_field()}, DType::F32, data);
  WaveNetStepper cpu(a), gpu(b, step::Weights::F32, gpu_device());
  const Tensor y = cpu.save(prompt), yg = gpu.save(prompt);
  Generator gc(3), gg(3);
  step::generate(cpu, y.select(2, y.size(2) - 1).contiguous(), 20, 1.0, gc);
  gpu.generate_persistent(yg.select(2, yg.size(2) - 1).to(gpu_device()).contiguous(), 20, 1.0, gg);
  for (int64_t k = 0; k < 5; ++k) {
    const int64_t ids[2] = {k % 9, (k * 4 + 1) % 9};
    const Tensor oc = cpu.step_indices(ids).clone();
    ASSERT_LE(rel_diff(gpu.step_indices(ids), oc), 1e-5) << "step " << k << " after the loop";
  }
}

// The audio WaveNet's widths (128 / 128 / 512, 256 classes: rows of every stage spread over many
// warps) on 2 × 10 layers (a short save) at batch 1: the loop on the GPU draws the CPU's greedy
// symbols, logits within 1e-5, in one launch on the default grid and in launches of 8 samples on
// 16 blocks; sampled at temperature 1, the CPU's symbols too.
TEST(GpuSteps, WaveNetPersistentLoopAtTheAudioWidths) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  WaveNetConfig c;
  c.layers = 10, c.blocks = 2, c.dilation_channels = 128, c.residual_channels = 128, c.skip_channels = 512;
  c.classes = 256, c.output_length = 1, c.kernel_size = 2, c.bias = true;
  Generator g1(4), g2(4), data(8);
  WaveNet a(c, g1), b(c, g2);
  a.set_training(false), b.set_training(false);
  b.params().store_on(gpu_device());
  NoGradGuard no_grad;
  const Tensor prompt = Tensor::randn({1, 256, a.receptive_field()}, DType::F32, data);
  struct Run {
    double temperature;
    int64_t grid, chunk;
  };
  for (const Run& r : {Run{0.0, 0, 4096}, Run{0.0, 16, 8}, Run{1.0, 0, 8}}) {
    const std::string tag = fmt::format("temperature {}, grid {}, chunk {}", r.temperature, r.grid, r.chunk);
    WaveNetStepper cpu(a), gpu(b, step::Weights::F32, gpu_device());
    const Tensor y = cpu.save(prompt), yg = gpu.save(prompt);
    Generator gc(1), gg(1);
    const Tensor want = step::generate(cpu, y.select(2, y.size(2) - 1).contiguous(), 30, r.temperature, gc);
    const Tensor got = gpu.generate_persistent(yg.select(2, yg.size(2) - 1).to(gpu_device()).contiguous(), 30,
                                               r.temperature, gg, {}, r.grid, r.chunk);
    EXPECT_EQ(got.to_vector<int64_t>(), want.to_vector<int64_t>()) << tag;
    EXPECT_LE(rel_diff(gpu.output(), cpu.output()), 1e-5) << tag;
  }
}

}  // namespace
}  // namespace seqnet
