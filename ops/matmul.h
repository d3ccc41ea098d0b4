// ops/matmul.h — matrix products on BLAS (cblas_sgemm / cblas_dgemm).
#pragma once
#include "autograd/variable.h"

namespace seqnet {

// a (..., M, K) · b (K, N) → (..., M, N)   [leading dims of a are folded into one big GEMM]
// a (B, M, K) · b (B, K, N) → (B, M, N)    [batched: one GEMM per batch entry]
// Transposed views (x.transpose(0, 1)) are passed to BLAS with a flag, never copied.
Variable matmul(const Variable& a, const Variable& b);

// y = x · Wᵀ + b on the last axis: x (..., in), W (out, in), b (out) or undefined → (..., out).
Variable linear(const Variable& x, const Variable& W, const Variable& b = Variable());

namespace tensor_ops {
// C (M, N) = alpha · op(A) · op(B) + beta · C on strided 2-D views, where op(A) is (M, K) and
// op(B) is (K, N); C must have unit column stride; one dtype (f32 or f64), one device. Checks
// the operands and runs the backend's gemm (BLAS on the CPU). Transposed views are never copied.
void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha = 1.0,
          double beta = 0.0);
}  // namespace tensor_ops

}  // namespace seqnet
