#include "ops/blas.h"

#include <cblas.h>

#include <algorithm>

#include "ops/dispatch.h"

namespace seqnet::kernels {

namespace {
struct BlasOperand {
  Tensor holder;  // keeps a contiguous copy alive when one was needed
  const void* ptr;
  bool trans;     // BLAS transpose flag for the row-major buffer at ptr
  int64_t ld;
};

// `t` is the logical 2-D matrix (after the caller's own transpose request `trans`).
BlasOperand as_operand(const Tensor& t, bool trans) {
  const int64_t rows = t.size(0), cols = t.size(1);
  if (t.stride(1) == 1 && (rows <= 1 || t.stride(0) >= std::max<int64_t>(cols, 1)))
    return {Tensor(), t.raw_data(), trans, std::max<int64_t>(rows <= 1 ? cols : t.stride(0), 1)};
  if (t.stride(0) == 1 && (cols <= 1 || t.stride(1) >= std::max<int64_t>(rows, 1)))
    return {Tensor(), t.raw_data(), !trans, std::max<int64_t>(cols <= 1 ? rows : t.stride(1), 1)};
  Tensor c = t.contiguous();
  return {c, c.raw_data(), trans, std::max<int64_t>(cols, 1)};
}
}  // namespace

void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta) {
  if (A.dim() != 2 || B.dim() != 2 || C.dim() != 2)
    fail(fmt::format("gemm: expected 2-D operands, got {}, {}, {}", A.describe(), B.describe(), C.describe()));
  check_same_dtype(A, B, "gemm");
  check_same_dtype(A, C, "gemm");
  const int64_t M = trans_a ? A.size(1) : A.size(0);
  const int64_t K = trans_a ? A.size(0) : A.size(1);
  const int64_t Kb = trans_b ? B.size(1) : B.size(0);
  const int64_t N = trans_b ? B.size(0) : B.size(1);
  if (K != Kb || C.size(0) != M || C.size(1) != N)
    fail(fmt::format("gemm: shapes do not match: op(A) {}x{}, op(B) {}x{}, C {}", M, K, Kb, N, shape_str(C.shape())));
  if (C.stride(1) != 1 && N > 1)
    fail(fmt::format("gemm: C must have unit column stride, got strides {}", shape_str(C.strides())));
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
  BlasOperand a = as_operand(A, trans_a), b = as_operand(B, trans_b);
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

}  // namespace seqnet::kernels
