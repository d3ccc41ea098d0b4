// bench/conv_layout — what the (N, C, T) activation layout costs a batched convolution's GEMMs.
//
// seqnet keeps activations as (N, C, T), so a stride-1 conv at batch N runs one GEMM per sample
// per tap, Y_n += W_m · X_n[:, m·d : m·d + T_out] (C_out × C_in × T_out each), with the samples
// spread over the threads (ops/cpu/conv.cpp, forward_taps). OpenBLAS packs both operands on every
// call, so W_m is packed N times per tap. In a (C, N, T) layout the same conv is one GEMM per tap
// over all N·T columns (the K−1 columns between samples computed and thrown away), each operand
// packed once. This program times the forward GEMMs of one conv both ways, raw cblas_sgemm on
// preallocated buffers, interleaved repeat by repeat:
//   - "per_sample":  N·K calls of C_out × C_in × T_out, samples split over the threads;
//   - "one_per_tap": K calls of C_out × C_in × (N·T_in − (K−1)), columns split over the threads;
// and prints JSON: medians, GFLOP/s (useful multiply-adds only), and the ratio. The cases are
// char_sequnet's convs (batch 16, nhid 390, K 3; T 397 halving per level; the up blocks read
// 780 channels) and char_tcn's (600 channels, T 400; its dilation only moves the taps).
//
//   build/bench/conv_layout [--threads T] [--repeats N]
#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "bench_util.h"
#include "core/rng.h"
#include "core/runtime.h"
#include "core/tensor.h"

using namespace seqnet;

namespace {

struct Case {
  const char* name;
  long N, C_in, C_out, K, T_out;
};

}  // namespace

int main(int argc, char** argv) {
  int repeats = 9;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc)
      repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
      setenv("SEQNET_THREADS", argv[++i], 1);
    else {
      fmt::print(stderr, "usage: {} [--threads T] [--repeats N]\n", argv[0]);
      return 2;
    }
  }
  init_runtime();
  const int nt = num_threads();
  const Case cases[] = {{"level0_390", 16, 390, 390, 3, 395},  {"level1_390", 16, 390, 390, 3, 197},
                        {"level2_390", 16, 390, 390, 3, 97},   {"level3_390", 16, 390, 390, 3, 47},
                        {"up0_780", 16, 780, 390, 3, 395},     {"up2_780", 16, 780, 390, 3, 97},
                        {"char_tcn_600", 16, 600, 600, 3, 400}};
  fmt::print("{{\n  \"bench\": \"conv_layout\",\n  \"threads\": {},\n  \"repeats\": {},\n  \"results\": [\n", nt,
             repeats);
  bool first = true;
  for (const Case& c : cases) {
    const long T_in = c.T_out + c.K - 1;
    Generator gen(1);
    // W as the per-tap GEMMs read it: (C_out, K, C_in), W_m = W[:, m, :] with row stride K·C_in.
    Tensor W = Tensor::uniform({c.C_out, c.K, c.C_in}, -1, 1, DType::F32, gen);
    Tensor X = Tensor::uniform({c.N, c.C_in, T_in}, -1, 1, DType::F32, gen);    // (N, C, T)
    Tensor Xc = Tensor::uniform({c.C_in, c.N * T_in}, -1, 1, DType::F32, gen);  // (C, N·T)
    Tensor Y = Tensor::zeros({c.N, c.C_out, c.T_out}, DType::F32);
    Tensor Yc = Tensor::zeros({c.C_out, c.N * T_in}, DType::F32);
    const float* w = W.data<float>();
    const int lda = int(c.K * c.C_in);
    auto per_sample = [&] {
#pragma omp parallel for num_threads(nt) schedule(static)
      for (long n = 0; n < c.N; ++n)
        for (long m = 0; m < c.K; ++m)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.C_out), int(c.T_out), int(c.C_in), 1.f,
                      w + m * c.C_in, lda, X.data<float>() + n * c.C_in * T_in + m, int(T_in), 1.f,
                      Y.data<float>() + n * c.C_out * c.T_out, int(c.T_out));
    };
    const long cols = c.N * T_in - (c.K - 1);
    auto one_per_tap = [&] {
#pragma omp parallel num_threads(nt)
      {
        const long t = omp_get_thread_num(), p = omp_get_num_threads();
        const long lo = cols * t / p, hi = cols * (t + 1) / p;
        for (long m = 0; m < c.K; ++m)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(c.C_out), int(hi - lo), int(c.C_in), 1.f,
                      w + m * c.C_in, lda, Xc.data<float>() + m + lo, int(c.N * T_in), 1.f, Yc.data<float>() + lo,
                      int(c.N * T_in));
      }
    };
    for (int w2 = 0; w2 < 2; ++w2) per_sample(), one_per_tap();
    std::vector<double> ta, tb;
    for (int r = 0; r < repeats; ++r) {
      ta.push_back(bench::median_seconds(per_sample, 1, 0));
      tb.push_back(bench::median_seconds(one_per_tap, 1, 0));
    }
    std::sort(ta.begin(), ta.end());
    std::sort(tb.begin(), tb.end());
    const double a = ta[ta.size() / 2], b = tb[tb.size() / 2];
    const double flops = 2.0 * double(c.N) * c.C_out * c.C_in * c.K * c.T_out;
    fmt::print(
        "{}    {{\"case\": \"{}\", \"N\": {}, \"C_in\": {}, \"C_out\": {}, \"K\": {}, \"T_out\": {}, "
        "\"per_sample_ms\": {:.3f}, \"one_per_tap_ms\": {:.3f}, \"per_sample_gflops\": {:.1f}, "
        "\"one_per_tap_gflops\": {:.1f}, \"one_per_tap_over_per_sample\": {:.3f}}}",
        first ? "" : ",\n", c.name, c.N, c.C_in, c.C_out, c.K, c.T_out, a * 1e3, b * 1e3, flops / a / 1e9,
        flops / b / 1e9, b / a);
    first = false;
  }
  fmt::print("\n  ]\n}}\n");
  return 0;
}
