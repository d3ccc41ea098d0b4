// ops/kernels/matmul.h — the matrix-product kernel contract.
//
//   gemm  C := alpha · op(A) · op(B) + beta · C     op(A) (M, K), op(B) (K, N), C (M, N)
// A and B are 2-D views with a unit stride along one axis (a transposed view is taken as is);
// C has unit column stride. All three share one dtype (f32 or f64). The CPU runs it on BLAS
// (ops/cpu/matmul.cpp), a GPU backend on cuBLAS.
#pragma once
#include "core/tensor.h"

namespace seqnet {

struct MatmulKernels {
  void (*gemm)(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta);
};

}  // namespace seqnet
