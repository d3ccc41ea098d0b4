// cuda/ops/matmul.cpp — gemm on cuBLAS (contract: ops/kernels/matmul.h; the CPU twin:
// ops/cpu/matmul.cpp).
//
// cuBLAS is column-major. A row-major matrix with leading dimension ld is the same bytes as its
// transpose in column-major order, so the row-major product C = op(A)·op(B) is computed as the
// column-major product Cᵀ = op(B)ᵀ·op(A)ᵀ: swap the operands, keep the flags. As on the CPU, a view
// with a unit column stride is passed as is, a transposed view (unit row stride) flips its flag,
// and only views with no unit stride are copied first. FP32 runs in CUBLAS_COMPUTE_32F (no TF32).
#include <algorithm>

#include "cuda/backend.h"
#include "cuda/context.h"
#include "ops/elementwise.h"

namespace seqnet::cuda {


void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta) {
  const int64_t M = trans_a ? A.size(1) : A.size(0);
  const int64_t K = trans_a ? A.size(0) : A.size(1);
  const int64_t N = trans_b ? B.size(0) : B.size(1);
  if (M == 0 || N == 0) return;
  const int64_t ldc = std::max<int64_t>(M <= 1 ? N : C.stride(0), 1);
  Context& ctx = context_of(C);
  if (K == 0) {  // C = beta · C
    if (beta == 0.0) C.fill_(0.0);
    else if (beta != 1.0) C.copy_(tensor_ops::scale_shift(C, beta, 0.0));
    return;
  }
  const GemmOperand a = gemm_operand(A, trans_a), b = gemm_operand(B, trans_b);
  const cublasOperation_t ta = a.trans ? CUBLAS_OP_T : CUBLAS_OP_N, tb = b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (A.dtype() == DType::F32) {
    const float al = float(alpha), be = float(beta);
    check_cublas(cublasGemmEx(ctx.blas, tb, ta, int(N), int(M), int(K), &al, b.ptr, CUDA_R_32F, int(b.ld), a.ptr,
                              CUDA_R_32F, int(a.ld), &be, C.raw_data(), CUDA_R_32F, int(ldc), CUBLAS_COMPUTE_32F,
                              CUBLAS_GEMM_DEFAULT),
                 "gemm", "cublasGemmEx (f32)");
  } else if (A.dtype() == DType::F64) {
    check_cublas(cublasDgemm(ctx.blas, tb, ta, int(N), int(M), int(K), &alpha, static_cast<const double*>(b.ptr),
                             int(b.ld), static_cast<const double*>(a.ptr), int(a.ld), &beta, C.data<double>(),
                             int(ldc)),
                 "gemm", "cublasDgemm");
  } else {
    fail(fmt::format("gemm: expected f32 or f64, got {}", A.describe()));
  }
}

bool gemm_strided_batched(const Tensor& A, int64_t sa, bool trans_a, const Tensor& B, int64_t sb, bool trans_b,
                          Tensor& C, int64_t sc, int64_t batch, double alpha, double beta) {
  const int64_t M = trans_a ? A.size(1) : A.size(0);
  const int64_t K = trans_a ? A.size(0) : A.size(1);
  const int64_t N = trans_b ? B.size(0) : B.size(1);
  if (batch <= 0 || M == 0 || N == 0) return true;
  if (K == 0) return false;
  const GemmOperand a = gemm_operand(A, trans_a), b = gemm_operand(B, trans_b);
  if (a.holder.defined() || b.holder.defined()) return false;  // a copy would break the batch strides
  const int64_t ldc = std::max<int64_t>(M <= 1 ? N : C.stride(0), 1);
  Context& ctx = context_of(C);
  const cublasOperation_t ta = a.trans ? CUBLAS_OP_T : CUBLAS_OP_N, tb = b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (A.dtype() == DType::F32) {
    const float al = float(alpha), be = float(beta);
    check_cublas(cublasGemmStridedBatchedEx(ctx.blas, tb, ta, int(N), int(M), int(K), &al, b.ptr, CUDA_R_32F, int(b.ld),
                                            sb, a.ptr, CUDA_R_32F, int(a.ld), sa, &be, C.raw_data(), CUDA_R_32F,
                                            int(ldc), sc, int(batch), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 "gemm", "cublasGemmStridedBatchedEx (f32)");
  } else if (A.dtype() == DType::F64) {
    check_cublas(
        cublasDgemmStridedBatched(ctx.blas, tb, ta, int(N), int(M), int(K), &alpha, static_cast<const double*>(b.ptr),
                                  int(b.ld), sb, static_cast<const double*>(a.ptr), int(a.ld), sa, &beta,
                                  C.data<double>(), int(ldc), sc, int(batch)),
        "gemm", "cublasDgemmStridedBatched");
  } else {
    fail(fmt::format("gemm: expected f32 or f64, got {}", A.describe()));
  }
  return true;
}

MatmulKernels matmul_kernels() { return {.gemm = gemm}; }

}  // namespace seqnet::cuda
