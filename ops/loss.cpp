// ops/loss.cpp — softmax / log-softmax / cross-entropy / BCE: argument checks, geometry and the
// backward math, forward and backward side by side (kernels: ops/kernels/loss.h).
//
// Every kernel sees a contiguous tensor as (outer, C, inner): the reduced axis has C entries,
// `inner` is the product of the dimensions after it (its stride), `outer` of those before it.
// Row r = (o, i) of the reduction then lives at x[(o·C + c)·inner + i], c = 0 .. C−1.
#include "ops/loss.h"

#include <algorithm>
#include <string>

#include "ops/backend.h"
#include "ops/dispatch.h"

namespace seqnet {

namespace {

// Wrap `dim` (negative counts from the end) with an error that names the op.
int wrap_axis(const Tensor& x, int dim, const char* op) {
  const int nd = x.dim();
  if (!(nd >= 1)) fail(fmt::format("{}: expected a tensor with at least 1 dimension, got {}", op, x.describe()));
  if (!(dim >= -nd && dim < nd)) fail(fmt::format("{}: dim {} is out of range for {}", op, dim, x.describe()));
  return dim < 0 ? dim + nd : dim;
}

SoftmaxRows rows_of(const Shape& s, int dim) {
  SoftmaxRows r;
  for (int d = 0; d < int(s.size()); ++d) {
    if (d < dim) r.outer *= s[size_t(d)];
    else if (d == dim) r.C = s[size_t(d)];
    else r.inner *= s[size_t(d)];
  }
  return r;
}

// ---- softmax / log_softmax --------------------------------------------------------------------

// y = exp(x − m) / Σ exp(x − m)   (m = max of the row; log: y = x − m − log Σ exp(x − m))
// softmax:     dx = y ⊙ (dy − Σ dy⊙y)
// log_softmax: dx = dy − exp(y) · Σ dy
Variable softmax_op(const char* name, const Variable& v, int dim, bool log) {
  check(v.defined(), "{}: input is undefined", name);
  Tensor x = v.data().contiguous();
  const Backend* be = &backend_for(name, x);
  const SoftmaxRows R = rows_of(x.shape(), wrap_axis(x, dim, name));
  Tensor y = empty_like(x);
  be->loss.softmax_forward(x, y, R, log);
  return make_result(name, y, {v}, [y, R, log, be](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = empty_like(y);
    be->loss.softmax_backward(y, gc, dx, R, log);
    return std::vector<Tensor>{dx};
  });
}

// ---- cross-entropy --------------------------------------------------------------------------------

// Per position p = (o, i) with target t and weight w (mask value, 1 without a mask):
//   loss_p = w · (log Σ_c exp(x_c) − x_t)
//   dx_c   = s_p · w · (softmax(x)_c − [c == t])      s_p = dL/dloss_p: dy (Sum), dy / Σw (Mean), dy_p (None)
Variable cross_entropy_impl(const Variable& logits, const Tensor& targets, const Tensor* mask, Reduction red,
                            int class_dim) {
  const char* op = "cross_entropy";
  check(logits.defined(), "{}: logits are undefined", op);
  check_defined(targets, op, "targets");
  const Tensor& L = logits.data();
  if (!(is_floating(L.dtype()))) fail(fmt::format("{}: logits must be f32 or f64, got {}", op, L.describe()));
  if (!(targets.dtype() == DType::I64))
    fail(fmt::format("{}: targets must be int64 class ids, got {} (logits {})", op, targets.describe(), L.describe()));
  const int cd = wrap_axis(L, class_dim, op);
  Shape tshape = L.shape();
  tshape.erase(tshape.begin() + cd);
  if (!(targets.shape() == tshape))
    fail(fmt::format("{}: targets {} do not match logits {} with classes on dim {} (expected targets of shape {})", op,
                     targets.describe(), L.describe(), cd, shape_str(tshape)));
  const SoftmaxRows R = rows_of(L.shape(), cd);
  if (!(R.C >= 1)) fail(fmt::format("{}: logits {} have no classes", op, L.describe()));

  // Weights per position (the mask in the logits' dtype, or all ones).
  Tensor w;
  std::string mask_desc;
  if (mask) {
    check_defined(*mask, op, "mask");
    if (!(mask->shape() == tshape))
      fail(fmt::format("{}: mask {} does not match targets {}", op, mask->describe(), targets.describe()));
    mask_desc = mask->describe();
  }
  const Backend* be = &backend_for(op, L, targets, mask ? *mask : Tensor());
  if (mask) w = mask->to(L.dtype()).contiguous();
  else w = Tensor::ones(tshape, L.dtype(), L.device());
  Tensor x = L.contiguous();
  Tensor t = targets.contiguous();
  Tensor probs = empty_like(x);
  Tensor out = Tensor::empty(red == Reduction::None ? tshape : Shape{}, L.dtype(), L.device());
  const double count = be->loss.cross_entropy_forward(x, t, w, probs, out, R, red, mask_desc.c_str());

  return make_result(op, out, {logits}, [probs, t, w, R, red, count, be](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = empty_like(probs);
    be->loss.cross_entropy_backward(probs, t, w, gc, dx, R, red, count);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

Variable softmax(const Variable& x, int dim) { return softmax_op("softmax", x, dim, false); }
Variable log_softmax(const Variable& x, int dim) { return softmax_op("log_softmax", x, dim, true); }

Variable cross_entropy(const Variable& logits, const Tensor& targets, Reduction r, int class_dim) {
  return cross_entropy_impl(logits, targets, nullptr, r, class_dim);
}

Variable cross_entropy(const Variable& logits, const Tensor& targets, const Tensor& mask, Reduction r,
                       int class_dim) {
  return cross_entropy_impl(logits, targets, &mask, r, class_dim);
}

// ---- binary cross-entropy with logits ------------------------------------------------------------

// l = max(x, 0) − x·y + log(1 + exp(−|x|));   dx = s · (σ(x) − y),   dy = −s · x
Variable bce_with_logits(const Variable& logits, const Variable& targets, Reduction red) {
  const char* op = "bce_with_logits";
  check(logits.defined() && targets.defined(), "{}: logits or targets are undefined", op);
  const Tensor& X0 = logits.data();
  const Tensor& Y0 = targets.data();
  if (!(is_floating(X0.dtype()))) fail(fmt::format("{}: logits must be f32 or f64, got {}", op, X0.describe()));
  if (!(X0.shape() == Y0.shape() && X0.dtype() == Y0.dtype()))
    fail(fmt::format("{}: targets {} must have the shape and dtype of logits {}", op, Y0.describe(), X0.describe()));
  const Backend* be = &backend_for(op, X0, Y0);
  Tensor X = X0.contiguous(), Y = Y0.contiguous();
  Tensor out = Tensor::empty(red == Reduction::None ? X.shape() : Shape{}, X.dtype(), X.device());
  be->loss.bce_forward(X, Y, out, red);
  const bool need_x = logits.requires_grad(), need_y = targets.requires_grad();
  return make_result(op, out, {logits, targets}, [X, Y, red, need_x, need_y, be](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dx = need_x ? empty_like(X) : Tensor();
    Tensor dy = need_y ? empty_like(Y) : Tensor();
    be->loss.bce_backward(X, Y, gc, dx, dy, red);
    return std::vector<Tensor>{dx, dy};
  });
}

// ---- one-hot --------------------------------------------------------------------------------------

namespace {
// out[(a·C + id)·B + b] = 1 for ids viewed as (A, B); the class axis sits between A and B.
Tensor one_hot_impl(const char* op, const Tensor& ids, int64_t C, DType dtype, Shape out_shape, int64_t B) {
  check_defined(ids, op, "ids");
  if (!(ids.dtype() == DType::I64)) fail(fmt::format("{}: ids must be int64, got {}", op, ids.describe()));
  check(C >= 1, "{}: num_classes must be >= 1, got {}", op, C);
  check(is_floating(dtype) || dtype == DType::I64, "{}: unsupported dtype", op);
  const Backend* be = &backend_for(op, ids);
  Tensor id = ids.contiguous();
  Tensor out = Tensor::zeros(out_shape, dtype, ids.device());
  be->loss.one_hot(op, id, out, C, B);
  return out;
}
}  // namespace

Tensor one_hot(const Tensor& ids, int64_t num_classes, DType dtype) {
  check_defined(ids, "one_hot", "ids");
  Shape s = ids.shape();
  s.push_back(num_classes);
  return one_hot_impl("one_hot", ids, num_classes, dtype, s, 1);
}

Tensor one_hot_channels_first(const Tensor& ids, int64_t num_classes, DType dtype) {
  const char* op = "one_hot_channels_first";
  check_defined(ids, op, "ids");
  if (!(ids.dim() >= 1)) fail(fmt::format("{}: ids must have a batch axis (N, T...), got {}", op, ids.describe()));
  Shape s = ids.shape();
  s.insert(s.begin() + 1, num_classes);
  const int64_t B = ids.size(0) == 0 ? 1 : std::max<int64_t>(1, ids.numel() / ids.size(0));
  return one_hot_impl(op, ids, num_classes, dtype, s, B);
}

}  // namespace seqnet
