// ops/conv.cpp — conv1d and conv_transpose1d: argument checks, geometry and the backward math.
//
// Both ops are described by the geometry of one conv1d (ConvGeom, ops/kernels/conv.h) and run
// on the four kernels of the conv contract: conv_transpose1d(x, w, stride s) is exactly the
// input gradient of the conv1d with weight w (C_in_t plays C_out, C_out_t plays C_in), stride s,
// input length s·(L−1)+K and output length L; so its forward is backward_input, its input
// gradient forward and its weight gradient backward_weight with the roles of x and dy swapped.
#include "ops/conv.h"

#include "ops/backend.h"
#include "ops/dispatch.h"

namespace seqnet {

namespace {

// BLAS takes a per-sample (C, T) view as is when its rows or its columns are contiguous;
// anything else (e.g. a time slice with a step) is made contiguous once here, not per GEMM.
Tensor blas_friendly(const Tensor& x) {
  if (x.stride(2) == 1 || x.stride(1) == 1 || x.numel() == 0) return x;
  return x.contiguous();
}

// Argument errors. check() would format its message arguments (describe() builds strings) on
// every call, and these ops run on every layer of every step (of every generated sample under
// --slow), so messages are formatted only on failure.
#define CONV_CHECK(cond, ...)                              \
  do {                                                     \
    if (!(cond)) ::seqnet::fail(fmt::format(__VA_ARGS__)); \
  } while (0)

// Checks shared by both ops; the bias must have w.size(bias_dim) entries.
void check_operands(const char* op, const Variable& x, const Variable& w, const Variable& b, const char* w_layout,
                    int bias_dim) {
  CONV_CHECK(x.defined() && w.defined(), "{}: input or weight is undefined", op);
  const Tensor& X = x.data();
  const Tensor& W = w.data();
  CONV_CHECK(is_floating(X.dtype()), "{}: expected a floating input (f32 or f64), got {}", op, X.describe());
  if (X.dtype() != W.dtype()) check_same_dtype(X, W, op);
  CONV_CHECK(X.dim() == 3, "{}: input must be 3-D (N, C_in, T), got {}", op, X.describe());
  CONV_CHECK(W.dim() == 3, "{}: weight must be 3-D {}, got {}", op, w_layout, W.describe());
  CONV_CHECK(W.size(2) >= 1, "{}: weight {} has an empty kernel (K = 0)", op, W.describe());
  if (b.defined()) {
    const Tensor& B = b.data();
    const int64_t c_out = W.size(bias_dim);
    CONV_CHECK(B.dtype() == X.dtype(), "{}: bias {} does not match the dtype of input {}", op, B.describe(),
               X.describe());
    CONV_CHECK(B.dim() == 1 && B.size(0) == c_out, "{}: bias {} does not match weight {} (expected bias [{}])", op,
               B.describe(), W.describe(), c_out);
  }
}

}  // namespace

// y = b + conv(x, w):  dx = convᵀ(dy, w),  dw[o,c,m] = Σ_{n,t} dy[n,o,t]·xpad[n,c,s·t+d·m],  db = Σ_{n,t} dy
Variable conv1d(const Variable& x, const Variable& w, const Variable& b, int64_t stride, int64_t dilation,
                int64_t pad_front, int64_t pad_back) {
  check_operands("conv1d", x, w, b, "(C_out, C_in, K)", 0);
  const Tensor& W = w.data();
  const Tensor X = blas_friendly(x.data());
  CONV_CHECK(stride >= 1, "conv1d: stride must be >= 1, got {} (input {}, weight {})", stride, X.describe(),
             W.describe());
  CONV_CHECK(dilation >= 1, "conv1d: dilation must be >= 1, got {} (input {}, weight {})", dilation, X.describe(),
             W.describe());
  CONV_CHECK(pad_front >= 0 && pad_back >= 0, "conv1d: padding must be >= 0, got front {} back {} (input {})",
             pad_front, pad_back, X.describe());
  CONV_CHECK(X.size(1) == W.size(1), "conv1d: input {} has {} channels but weight {} expects C_in = {}", X.describe(),
             X.size(1), W.describe(), W.size(1));
  ConvGeom g;
  g.N = X.size(0), g.C_in = X.size(1), g.T = X.size(2), g.C_out = W.size(0), g.K = W.size(2);
  g.s = stride, g.d = dilation, g.pf = pad_front;
  const int64_t span = dilation * (g.K - 1) + 1;
  if (pad_front + pad_back == 0)
    CONV_CHECK(g.T >= span, "conv1d: input {} is shorter than the dilated kernel (K={}, dilation={} → {} samples)",
               X.describe(), g.K, dilation, span);
  else
    CONV_CHECK(g.T + pad_front + pad_back >= span,
               "conv1d: input {} padded by {}+{} is shorter than the dilated kernel (K={}, dilation={} → {} samples)",
               X.describe(), pad_front, pad_back, g.K, dilation, span);
  g.T_out = conv1d_out_len(g.T, g.K, stride, dilation, pad_front, pad_back);

  const Tensor B = b.defined() ? b.data() : Tensor();
  const Backend* be = &backend_for("conv1d", X, W, B);
  Tensor Y = Tensor::empty({g.N, g.C_out, g.T_out}, X.dtype(), X.device());
  be->conv.forward(X, be->conv.prepare_weight(W, g), B, Y, g);

  const bool has_bias = b.defined();
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = has_bias && b.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result("conv1d", Y, inputs, [=](const Tensor& grad) {
    const Tensor dY = grad.contiguous();
    Tensor gx, gw, gb;
    if (need_x) {  // the prepared weight is made again rather than kept from the forward (memory)
      gx = empty_like(X);
      be->conv.backward_input(dY, be->conv.prepare_weight(W, g), Tensor(), gx, g);
    }
    if (need_w) {
      gw = empty_like(W);
      be->conv.backward_weight(dY, X, gw, g);
    }
    if (need_b) {
      gb = empty_like(B);
      be->conv.bias_grad(dY, gb);
    }
    std::vector<Tensor> out{gx, gw};
    if (has_bias) out.push_back(gb);
    return out;
  });
}

// y[n,o,s·i+m] = b[o] + Σ_c w[c,o,m]·x[n,c,i]  (= conv1dᵀ):
//   dx = conv1d(dy, w, stride s),  dw[c,o,m] = Σ_{n,i} x[n,c,i]·dy[n,o,s·i+m],  db = Σ_{n,t} dy
Variable conv_transpose1d(const Variable& x, const Variable& w, const Variable& b, int64_t stride) {
  check_operands("conv_transpose1d", x, w, b, "(C_in, C_out, K)", 1);
  const Tensor& W = w.data();
  const Tensor X = blas_friendly(x.data());
  CONV_CHECK(stride >= 1, "conv_transpose1d: stride must be >= 1, got {} (input {}, weight {})", stride, X.describe(),
             W.describe());
  CONV_CHECK(X.size(1) == W.size(0), "conv_transpose1d: input {} has {} channels but weight {} expects C_in = {}",
             X.describe(), X.size(1), W.describe(), W.size(0));
  CONV_CHECK(X.size(2) >= 1, "conv_transpose1d: input {} is empty along time (need L >= 1)", X.describe());
  // The conv1d whose input gradient this op is: it maps (N, C_out_t, T_out) to (N, C_in_t, L).
  ConvGeom g;
  g.N = X.size(0), g.C_out = W.size(0), g.C_in = W.size(1), g.K = W.size(2), g.T_out = X.size(2);
  g.s = stride, g.d = 1, g.pf = 0;
  g.T = stride * (g.T_out - 1) + g.K;

  const Tensor B = b.defined() ? b.data() : Tensor();
  const Backend* be = &backend_for("conv_transpose1d", X, W, B);
  Tensor Y = Tensor::empty({g.N, g.C_in, g.T}, X.dtype(), X.device());
  be->conv.backward_input(X, be->conv.prepare_weight(W, g), B, Y, g);

  const bool has_bias = b.defined();
  const bool need_x = x.requires_grad(), need_w = w.requires_grad(), need_b = has_bias && b.requires_grad();
  std::vector<Variable> inputs{x, w};
  if (has_bias) inputs.push_back(b);
  return make_result("conv_transpose1d", Y, inputs, [=](const Tensor& grad) {
    const Tensor dY = grad.contiguous();
    Tensor gx, gw, gb;
    if (need_x) {
      gx = empty_like(X);
      be->conv.forward(dY, be->conv.prepare_weight(W, g), Tensor(), gx, g);  // prepared again (memory)
    }
    if (need_w) {
      gw = empty_like(W);
      be->conv.backward_weight(X, dY, gw, g);
    }
    if (need_b) {
      gb = empty_like(B);
      be->conv.bias_grad(dY, gb);
    }
    std::vector<Tensor> out{gx, gw};
    if (has_bias) out.push_back(gb);
    return out;
  });
}

#undef CONV_CHECK

}  // namespace seqnet
