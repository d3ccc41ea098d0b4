// ops/matmul.cpp — matmul and linear; backward is two more GEMMs with transpose flags.
#include "ops/matmul.h"

#include "ops/backend.h"
#include "ops/dispatch.h"
#include "ops/reduce.h"

namespace seqnet {

namespace tensor_ops {
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
  backend_for("gemm", A, B, C).matmul.gemm(A, trans_a, B, trans_b, C, alpha, beta);
}
}  // namespace tensor_ops

namespace {
// Fold (..., R, C) into (prod(...)·R, C); a view when the layout allows it.
Tensor fold_rows(const Tensor& t) { return t.reshape({-1, t.size(-1)}); }
}  // namespace

// C = A·B:  dA = dC · Bᵀ,  dB = Aᵀ · dC   (batched: per batch entry)
Variable matmul(const Variable& a, const Variable& b) {
  const Tensor& A = a.data();
  const Tensor& B = b.data();
  check_same_dtype(A, B, "matmul");
  backend_for("matmul", A, B);  // both on one device (the GEMMs below run there)
  if (B.dim() == 2) {
    if (!(A.dim() >= 2 && A.size(-1) == B.size(0)))
      fail(fmt::format("matmul: cannot multiply {} by {} (inner dimensions differ)", A.describe(), B.describe()));
    Shape out_shape = A.shape();
    out_shape.back() = B.size(1);
    Tensor A2 = fold_rows(A);
    Tensor C = Tensor::empty({A2.size(0), B.size(1)}, A.dtype(), A.device());
    tensor_ops::gemm(A2, false, B, false, C);
    bool need_a = a.requires_grad(), need_b = b.requires_grad();
    return make_result("matmul", C.view(out_shape), {a, b}, [=](const Tensor& g) {
      Tensor g2 = fold_rows(g), ga, gb;
      if (need_a) {
        ga = empty_like(A2);
        tensor_ops::gemm(g2, false, B, true, ga);  // dA = dC · Bᵀ
        ga = ga.view(A.shape());
      }
      if (need_b) {
        gb = empty_like(B);
        tensor_ops::gemm(A2, true, g2, false, gb);  // dB = Aᵀ · dC
      }
      return std::vector<Tensor>{ga, gb};
    });
  }
  if (!(A.dim() == 3 && B.dim() == 3 && A.size(0) == B.size(0) && A.size(2) == B.size(1)))
    fail(fmt::format("matmul: cannot multiply {} by {} (expected (..., M, K)·(K, N) or (B, M, K)·(B, K, N))",
                     A.describe(), B.describe()));
  const int64_t nb = A.size(0);
  Tensor C = Tensor::empty({nb, A.size(1), B.size(2)}, A.dtype(), A.device());
  for (int64_t i = 0; i < nb; ++i) {
    Tensor Ci = C.select(0, i);
    tensor_ops::gemm(A.select(0, i), false, B.select(0, i), false, Ci);
  }
  bool need_a = a.requires_grad(), need_b = b.requires_grad();
  return make_result("matmul", C, {a, b}, [=](const Tensor& g) {
    Tensor ga = need_a ? empty_like(A) : Tensor();
    Tensor gb = need_b ? empty_like(B) : Tensor();
    for (int64_t i = 0; i < nb; ++i) {
      if (need_a) {
        Tensor gai = ga.select(0, i);
        tensor_ops::gemm(g.select(0, i), false, B.select(0, i), true, gai);
      }
      if (need_b) {
        Tensor gbi = gb.select(0, i);
        tensor_ops::gemm(A.select(0, i), true, g.select(0, i), false, gbi);
      }
    }
    return std::vector<Tensor>{ga, gb};
  });
}

// y = x·Wᵀ + b:  dx = dy · W,  dW = dyᵀ · x,  db = Σ_rows dy
Variable linear(const Variable& x, const Variable& W, const Variable& b) {
  const Tensor& X = x.data();
  const Tensor& Wt = W.data();
  check_same_dtype(X, Wt, "linear");
  backend_for("linear", X, Wt, b.defined() ? b.data() : Tensor());
  if (!(Wt.dim() == 2 && X.dim() >= 1 && X.size(-1) == Wt.size(1)))
    fail(fmt::format("linear: input {} does not match weight {} (expected input (..., {}))", X.describe(),
                     Wt.describe(), Wt.dim() == 2 ? Wt.size(1) : -1));
  const bool has_bias = b.defined();
  if (has_bias)
    if (!(b.dim() == 1 && b.size(0) == Wt.size(0) && b.dtype() == X.dtype()))
      fail(fmt::format("linear: bias {} does not match weight {}", b.data().describe(), Wt.describe()));
  Shape out_shape = X.shape();
  out_shape.back() = Wt.size(0);
  Tensor X2 = fold_rows(X);
  Tensor Y = Tensor::empty({X2.size(0), Wt.size(0)}, X.dtype(), X.device());
  if (has_bias) Y.copy_(b.data());  // broadcast the bias over rows, then accumulate the GEMM
  tensor_ops::gemm(X2, false, Wt, true, Y, 1.0, has_bias ? 1.0 : 0.0);
  bool need_x = x.requires_grad(), need_w = W.requires_grad(), need_b = has_bias && b.requires_grad();
  std::vector<Variable> inputs{x, W};
  if (has_bias) inputs.push_back(b);
  return make_result("linear", Y.view(out_shape), inputs, [=](const Tensor& g) {
    Tensor g2 = fold_rows(g), gx, gw, gb;
    if (need_x) {
      gx = empty_like(X2);
      tensor_ops::gemm(g2, false, Wt, false, gx);
      gx = gx.view(X.shape());
    }
    if (need_w) {
      gw = empty_like(Wt);
      tensor_ops::gemm(g2, true, X2, false, gw);
    }
    if (need_b) gb = tensor_ops::sum_dim(g2, 0, false);
    std::vector<Tensor> out{gx, gw};
    if (has_bias) out.push_back(gb);
    return out;
  });
}

}  // namespace seqnet
