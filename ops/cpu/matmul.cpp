// ops/cpu/matmul.cpp — the CPU gemm: OpenBLAS on strided views.
//
// A 2-D view whose rows are contiguous (stride(1) == 1) is passed as a row-major matrix with
// leading dimension stride(0); a transposed view (stride(0) == 1) is passed as the untransposed
// matrix with the transpose flag flipped. So x.transpose(0, 1) never materialises a copy, and
// shifted views inside a larger buffer (conv taps) go straight to sgemm. Only views with no unit
// stride at all are copied first. Operand checks are done by tensor_ops::gemm (ops/matmul.cpp).

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

namespace {
// How many threads to split one GEMM over ourselves (1: leave it to BLAS as it is).
//
// OpenBLAS's threaded sgemm synchronises its threads several times per call (spinning, then
// sched_yield). On the GEMMs of a training step — one conv tap is 215 × 215 × 253 — that costs
// more than the second core gains: a 2-thread music step ran slower than a 1-thread one. Below
// 2^18 multiply-adds OpenBLAS runs one thread anyway; from there up we split C into one slab per
// thread instead, each an independent single-threaded sgemm. That includes the large decoder
// GEMMs of the word models, where OpenBLAS's own split (sharing packed panels) could win; the
// word steps measured 0.62-0.74x PyTorch's time this way (docs/performance.md), so no upper
// bound is set yet. SEQNET_GEMM_SPLIT=0 turns our split off (for measuring the difference).
constexpr double kOwnSplitMin = double(1 << 18);
int split_threads(int64_t M, int64_t N, int64_t K) {
  static const bool enabled = [] {
    const char* e = std::getenv("SEQNET_GEMM_SPLIT");
    return !(e && e[0] == '0');
  }();
  if (!enabled || omp_in_parallel()) return 1;
  const int nt = omp_get_max_threads();
  const double macs = double(M) * double(N) * double(K);
  if (nt <= 1 || macs < kOwnSplitMin) return 1;
  return int(std::min<int64_t>(nt, std::max(M, N) / 16));  // at least 16 columns (rows) per thread
}
}  // namespace


void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta) {
  const int64_t M = trans_a ? A.size(1) : A.size(0);
  const int64_t K = trans_a ? A.size(0) : A.size(1);
  const int64_t N = trans_b ? B.size(0) : B.size(1);
  if (M == 0 || N == 0) return;
  const int64_t ldc = std::max<int64_t>(M <= 1 ? N : C.stride(0), 1);
  if (K == 0) {  // C = beta · C
    if (beta == 0.0) {
      C.fill_(0.0);
    } else if (beta != 1.0) {
      dispatch_float(C.dtype(), "gemm", [&]<typename T>() {
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) C.data<T>()[i * ldc + j] *= T(beta);
      });
    }
    return;
  }
  const GemmOperand a = gemm_operand(A, trans_a), b = gemm_operand(B, trans_b);
  const auto ta = a.trans ? CblasTrans : CblasNoTrans, tb = b.trans ? CblasTrans : CblasNoTrans;
  if (A.dtype() != DType::F32 && A.dtype() != DType::F64) fail(fmt::format("gemm: expected f32 or f64, got {}", A.describe()));
  const size_t esize = dtype_size(A.dtype());
  const char* pa = static_cast<const char*>(a.ptr);
  const char* pb = static_cast<const char*>(b.ptr);
  char* pc = static_cast<char*>(C.raw_data());
  // C[i0:i0+m, j0:j0+n] on this thread: the operands' sub-blocks are plain pointer offsets
  // (a transposed operand is stored the other way round, so its offset runs along the other axis).
  auto block = [&](int64_t i0, int64_t m, int64_t j0, int64_t n) {
    const char* ai = pa + esize * size_t(a.trans ? i0 : i0 * a.ld);
    const char* bj = pb + esize * size_t(b.trans ? j0 * b.ld : j0);
    char* cij = pc + esize * size_t(i0 * ldc + j0);
    if (A.dtype() == DType::F32)
      cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(n), int(K), float(alpha), reinterpret_cast<const float*>(ai),
                  int(a.ld), reinterpret_cast<const float*>(bj), int(b.ld), float(beta), reinterpret_cast<float*>(cij),
                  int(ldc));
    else
      cblas_dgemm(CblasRowMajor, ta, tb, int(m), int(n), int(K), alpha, reinterpret_cast<const double*>(ai), int(a.ld),
                  reinterpret_cast<const double*>(bj), int(b.ld), beta, reinterpret_cast<double*>(cij), int(ldc));
  };
  const int nt = split_threads(M, N, K);
  if (nt <= 1) {
    block(0, M, 0, N);
    return;
  }
  // Split C into nt slabs of whole columns (or rows, when C is taller than wide), one per thread;
  // inside the parallel region each sgemm runs single-threaded (the OpenMP build of OpenBLAS
  // does not nest). Every element of C still sums its K products in BLAS's own order.
  const bool by_cols = N >= M;
  const int64_t len = by_cols ? N : M;
#pragma omp parallel num_threads(nt)
  {
    const int t = omp_get_thread_num(), team = omp_get_num_threads();  // the team really started
    const int64_t lo = len * t / team, hi = len * (t + 1) / team;
    if (hi > lo) by_cols ? block(0, M, lo, hi - lo) : block(lo, hi - lo, 0, N);
  }
}

MatmulKernels matmul_kernels() { return {.gemm = gemm}; }

}  // namespace seqnet::cpu
