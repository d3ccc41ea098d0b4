// ops/cpu/matmul.cpp — the CPU gemm: OpenBLAS on strided views.
//
// A 2-D view whose rows are contiguous (stride(1) == 1) is passed as a row-major matrix with
// leading dimension stride(0); a transposed view (stride(0) == 1) is passed as the untransposed
// matrix with the transpose flag flipped. So x.transpose(0, 1) never materialises a copy, and
// shifted views inside a larger buffer (conv taps) go straight to sgemm. Only views with no unit
// stride at all are copied first. Operand checks are done by tensor_ops::gemm (ops/matmul.cpp).

#include <cblas.h>

#include <algorithm>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {


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
  if (A.dtype() == DType::F32)
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), float(alpha), static_cast<const float*>(a.ptr),
                int(a.ld), static_cast<const float*>(b.ptr), int(b.ld), float(beta), C.data<float>(), int(ldc));
  else if (A.dtype() == DType::F64)
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, static_cast<const double*>(a.ptr), int(a.ld),
                static_cast<const double*>(b.ptr), int(b.ld), beta, C.data<double>(), int(ldc));
  else
    fail(fmt::format("gemm: expected f32 or f64, got {}", A.describe()));
}

MatmulKernels matmul_kernels() { return {.gemm = gemm}; }

}  // namespace seqnet::cpu
