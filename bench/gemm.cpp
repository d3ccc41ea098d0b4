// bench/gemm — our matmul op against raw cblas_sgemm, same shapes, same run.
//
// For every shape of ../shared/baselines/gemm_shapes.txt: C[M,N] = A[M,K]·B[K,N] in f32, timed
//   - "raw":  cblas_sgemm into a preallocated C (the BLAS ceiling), and
//   - "op":   seqnet::matmul on Variables (allocates C, checks shapes, builds no graph: inputs
//             do not require grad) — what model code pays;
// interleaved repeat by repeat (alternating which goes first) so machine noise hits both alike. Prints JSON: medians, GFLOP/s,
// and overhead = op_time / raw_time − 1.
//
//   build/bench/gemm [--repeats N] [--threads T] [--only NAME]
#include <cblas.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "bench_util.h"
#include "core/paths.h"
#include "core/runtime.h"
#include "ops/matmul.h"

using namespace seqnet;

int main(int argc, char** argv) {
  int repeats = 15;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--repeats") && i + 1 < argc) repeats = std::max(1, std::atoi(argv[++i]));
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) setenv("SEQNET_THREADS", argv[++i], 1);
    else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else {
      fmt::print(stderr, "usage: {} [--repeats N] [--threads T] [--only NAME]\n", argv[0]);
      return 2;
    }
  }
  init_runtime();
  std::string source;
  auto shapes = bench::load_gemm_shapes(baselines_dir() + "/gemm_shapes.txt", source);
  BlasInfo blas = blas_info();
  fmt::print(
      "{{\n  \"bench\": \"gemm\",\n  \"shapes_from\": \"{}\",\n  \"blas\": \"{}\",\n  \"blas_config\": "
      "\"{}\",\n  \"threads\": {},\n  \"repeats\": {},\n  \"results\": [\n",
      source, blas.library, blas.config, num_threads(), repeats);
  bool first = true;
  double worst = -1e9;
  for (const auto& s : shapes) {
    if (!only.empty() && s.name != only) continue;
    Generator gen(1);
    Tensor A = Tensor::uniform({s.M, s.K}, -1, 1, DType::F32, gen);
    Tensor B = Tensor::uniform({s.K, s.N}, -1, 1, DType::F32, gen);
    Tensor C = Tensor::empty({s.M, s.N}, DType::F32);
    Variable a(A), b(B);
    auto raw = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(s.M), int(s.N), int(s.K), 1.f, A.data<float>(),
                  int(s.K), B.data<float>(), int(s.N), 0.f, C.data<float>(), int(s.N));
    };
    auto op = [&] { Variable c = matmul(a, b); };
    // Interleave: warm up both, then alternate timed calls.
    for (int w = 0; w < 2; ++w) raw(), op();
    std::vector<double> traw, top;
    auto timed = [](auto& f) {
      auto t0 = std::chrono::steady_clock::now();
      f();
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    for (int r = 0; r < repeats; ++r) {
      // ABBA order, so that neither side always runs right after the other.
      if (r % 2 == 0) {
        traw.push_back(timed(raw));
        top.push_back(timed(op));
      } else {
        top.push_back(timed(op));
        traw.push_back(timed(raw));
      }
    }
    std::sort(traw.begin(), traw.end());
    std::sort(top.begin(), top.end());
    const double mr = traw[traw.size() / 2], mo = top[top.size() / 2];
    const double flop = 2.0 * double(s.M) * double(s.N) * double(s.K);
    const double overhead = mo / mr - 1.0;
    worst = std::max(worst, overhead);
    fmt::print("{}    {{\"name\": \"{}\", \"M\": {}, \"N\": {}, \"K\": {}, \"raw_ms\": {:.4f}, \"op_ms\": {:.4f}, "
               "\"raw_gflops\": {:.1f}, \"op_gflops\": {:.1f}, \"overhead_pct\": {:.2f}}}",
               first ? "" : ",\n", s.name, s.M, s.N, s.K, mr * 1e3, mo * 1e3, flop / mr * 1e-9, flop / mo * 1e-9,
               overhead * 100);
    first = false;
  }
  fmt::print("\n  ],\n  \"max_overhead_pct\": {:.2f}\n}}\n", worst * 100);
  fmt::print(stderr, "gemm: worst matmul-op overhead over raw sgemm: {:.2f}%\n", worst * 100);
  return 0;
}
