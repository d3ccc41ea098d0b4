// ops/blas.h — the one door to BLAS: C = alpha · op(A) · op(B) + beta · C on strided views.
//
// A 2-D view whose rows are contiguous (stride(1) == 1) is passed as a row-major matrix with
// leading dimension stride(0); a transposed view (stride(0) == 1) is passed as the untransposed
// matrix with the transpose flag flipped. So x.transpose(0, 1) never materialises a copy, and
// shifted views inside a larger buffer (conv taps) go straight to sgemm. Only views with no unit
// stride at all are copied first.
#pragma once
#include "core/tensor.h"

namespace seqnet::kernels {

// C (M, N) = alpha · op(A) · op(B) + beta · C, where op(A) is (M, K) and op(B) is (K, N).
// C must have unit column stride. All three f32 or all f64.
void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha = 1.0,
          double beta = 0.0);

}  // namespace seqnet::kernels
