// ops/kernels/matmul.h — the matrix-product kernel contract.
//
//   gemm  C := alpha · op(A) · op(B) + beta · C     op(A) (M, K), op(B) (K, N), C (M, N)
// A and B are 2-D views with a unit stride along one axis (a transposed view is taken as is);
// C has unit column stride. All three share one dtype (f32 or f64). The CPU runs it on BLAS
// (ops/cpu/matmul.cpp), a GPU backend on cuBLAS.
#pragma once
#include <algorithm>

#include "core/tensor.h"

namespace seqnet {

// A 2-D view as a row-major BLAS operand, shared by the CPU (cblas) and CUDA (cuBLAS) gemm: a
// view with unit column stride is passed as is (leading dimension stride(0)); a transposed view
// (unit row stride) as the untransposed matrix with the transpose flag flipped; only a view with
// no unit stride is copied (contiguous() on its own device), and `holder` keeps that copy alive.
struct GemmOperand {
  Tensor holder;
  const void* ptr;
  bool trans;  // transpose flag for the row-major buffer at ptr
  int64_t ld;
};

// `t` is the logical 2-D matrix, `trans` the caller's own transpose request.
inline GemmOperand gemm_operand(const Tensor& t, bool trans) {
  const int64_t rows = t.size(0), cols = t.size(1);
  if (t.stride(1) == 1 && (rows <= 1 || t.stride(0) >= std::max<int64_t>(cols, 1)))
    return {Tensor(), t.raw_data(), trans, std::max<int64_t>(rows <= 1 ? cols : t.stride(0), 1)};
  if (t.stride(0) == 1 && (cols <= 1 || t.stride(1) >= std::max<int64_t>(rows, 1)))
    return {Tensor(), t.raw_data(), !trans, std::max<int64_t>(cols <= 1 ? rows : t.stride(1), 1)};
  Tensor c = t.contiguous();
  return {c, c.raw_data(), trans, std::max<int64_t>(cols, 1)};
}

struct MatmulKernels {
  void (*gemm)(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta);
};

}  // namespace seqnet
