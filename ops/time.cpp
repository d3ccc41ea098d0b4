// ops/time.cpp — time-axis plumbing, forward and backward side by side.
//
// Most ops here are views: the forward only moves the window (offset, length, stride) over the
// input's storage, and the backward puts the gradient back where the window was, zeros elsewhere.
#include "ops/time.h"

#include <fmt/format.h>

#include <string>

#include "ops/backend.h"

namespace seqnet {

namespace {

// Every time op: x is defined and has a (last) time axis.
void check_time_input(const Variable& x, const char* op) {
  check(x.defined(), "{}: the input is undefined", op);
  if (!(x.dim() >= 1))
    fail(fmt::format("{}: expected a tensor with a time axis (dim >= 1), got {}", op, x.data().describe()));
}

// y = x[..., start : start + len·step : step]   (a view: `len` steps, `step` apart);
// dx = zeros of x's shape with dy written back into exactly those steps.
// The caller has checked that the window lies inside x; `op` names the node.
Variable time_window(const char* op, const Variable& x, int64_t start, int64_t len, int64_t step) {
  const int64_t span = len == 0 ? 0 : (len - 1) * step + 1;  // steps from the first to the last kept one
  Tensor y = x.data().narrow(-1, start, span).slice(-1, 0, span, step);
  Shape in = x.shape();
  DType dt = x.dtype();
  Device dev = x.data().device();
  return make_result(op, y, {x}, [=](const Tensor& g) {
    Tensor dx = Tensor::zeros(in, dt, dev);
    dx.narrow(-1, start, span).slice(-1, 0, span, step).copy_(g);
    return std::vector<Tensor>{dx};
  });
}

}  // namespace

// ---- padding --------------------------------------------------------------------------------------

// y = [0 × front, x, 0 × back] on the last axis;  dx = dy[..., front : front + T]
Variable pad_time(const Variable& x, int64_t front, int64_t back) {
  check_time_input(x, "pad_time");
  if (!(front >= 0 && back >= 0))
    fail(fmt::format("pad_time: front and back must be >= 0, got front = {}, back = {} for {}", front, back,
                     x.data().describe()));
  const int64_t T = x.size(-1);
  Shape s = x.shape();
  s.back() = front + T + back;
  Tensor y = Tensor::zeros(s, x.dtype(), x.data().device());
  y.narrow(-1, front, T).copy_(x.data());
  return make_result("pad_time", y, {x},
                     [front, T](const Tensor& g) { return std::vector<Tensor>{g.narrow(-1, front, T)}; });
}

// ---- cropping (all views) ----------------------------------------------------------------------------

// y = x[..., T − n :]   (keep the last n steps);  dx = [0 × (T − n), dy]
Variable crop(const Variable& x, int64_t target_len) {
  check_time_input(x, "crop");
  const int64_t T = x.size(-1);
  if (!(target_len >= 0 && target_len <= T))
    fail(fmt::format("crop: cannot keep the last {} steps of {} (time length {}); the target must be 0..{}", target_len,
                     x.data().describe(), T, T));
  return time_window("crop", x, T - target_len, target_len, 1);
}

Variable crop(const Variable& x, const Variable& target) {
  check(target.defined(), "crop: the target is undefined");
  if (!(target.dim() >= 1)) fail(fmt::format("crop: the target {} has no time axis", target.data().describe()));
  check_time_input(x, "crop");
  if (!(target.size(-1) <= x.size(-1)))
    fail(fmt::format("crop: target {} is longer than the input {} (time {} > {})", target.data().describe(),
                     x.data().describe(), target.size(-1), x.size(-1)));
  return crop(x, target.size(-1));
}

// y = x[..., d/2 : T − d/2] with d = T − n (even);  dx = [0 × d/2, dy, 0 × d/2]
Variable crop_both(const Variable& x, int64_t target_len) {
  check_time_input(x, "crop_both");
  const int64_t T = x.size(-1);
  if (!(target_len >= 0 && target_len <= T))
    fail(fmt::format("crop_both: cannot crop {} (time length {}) to {} steps; the target must be 0..{}",
                     x.data().describe(), T, target_len, T));
  if (!((T - target_len) % 2 == 0))
    fail(fmt::format(
        "crop_both: {} (time length {}) to {} steps removes {} steps, which must be even to split over both ends",
        x.data().describe(), T, target_len, T - target_len));
  return time_window("crop_both", x, (T - target_len) / 2, target_len, 1);
}

// y = x[..., : n]   (keep the first n steps);  dx = [dy, 0 × (T − n)]
Variable crop_back(const Variable& x, int64_t target_len) {
  check_time_input(x, "crop_back");
  const int64_t T = x.size(-1);
  if (!(target_len >= 0 && target_len <= T))
    fail(fmt::format("crop_back: cannot keep the first {} steps of {} (time length {}); the target must be 0..{}",
                     target_len, x.data().describe(), T, T));
  return time_window("crop_back", x, 0, target_len, 1);
}

// y = x[..., f : T − b];  dx = [0 × f, dy, 0 × b]
Variable crop_front_back(const Variable& x, int64_t front, int64_t back) {
  check_time_input(x, "crop_front_back");
  const int64_t T = x.size(-1);
  if (!(front >= 0 && back >= 0 && front + back <= T))
    fail(fmt::format("crop_front_back: cannot remove {} steps at the front and {} at the back of {} (time length {})",
                     front, back, x.data().describe(), T));
  return time_window("crop_front_back", x, front, T - front - back, 1);
}

// ---- concatenation -------------------------------------------------------------------------------------

// y = [x_0 | x_1 | …] along dim;  dx_i = dy narrowed to x_i's range on dim (views)
Variable concat(const std::vector<Variable>& xs, int dim) {
  check(!xs.empty(), "concat: no inputs given");
  for (size_t i = 0; i < xs.size(); ++i) check(xs[i].defined(), "concat: input {} is undefined", i);
  std::vector<std::string> shapes;
  for (const Variable& x : xs) shapes.push_back(x.data().describe());
  const int nd = xs[0].dim();
  check(nd >= 1 && dim >= -nd && dim < nd, "concat: dim {} is out of range for inputs {}", dim,
        fmt::join(shapes, ", "));
  const int d = dim < 0 ? dim + nd : dim;
  Shape out = xs[0].shape();
  out[size_t(d)] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    Shape s = xs[i].shape();
    check(xs[i].dtype() == xs[0].dtype(), "concat: dtype mismatch between inputs {}", fmt::join(shapes, ", "));
    bool same_rest = int(s.size()) == nd;
    for (int k = 0; same_rest && k < nd; ++k) same_rest = (k == d) || s[size_t(k)] == out[size_t(k)];
    check(same_rest, "concat: inputs {} differ outside dim {} (input {} does not match input 0)",
          fmt::join(shapes, ", "), d, i);
    out[size_t(d)] += s[size_t(d)];
  }
  for (size_t i = 1; i < xs.size(); ++i)
    if (xs[i].data().device() != xs[0].data().device())
      fail(fmt::format("concat: operands on different devices: input 0 on {} but input {} on {} (move them with .to())",
                       xs[0].data().device().str(), i, xs[i].data().device().str()));
  Tensor y = Tensor::empty(out, xs[0].dtype(), xs[0].data().device());
  std::vector<int64_t> starts, lens;
  int64_t at = 0;
  for (const Variable& x : xs) {
    const int64_t len = x.size(d);
    if (len > 0) y.narrow(d, at, len).copy_(x.data());
    starts.push_back(at);
    lens.push_back(len);
    at += len;
  }
  return make_result("concat", y, xs, [d, starts, lens](const Tensor& g) {
    std::vector<Tensor> dx;
    for (size_t i = 0; i < starts.size(); ++i) dx.push_back(g.narrow(d, starts[i], lens[i]));
    return dx;
  });
}

// ---- decimation (strided views) ---------------------------------------------------------------------------

// y = x[..., start::2];  dx = zeros with dy on the kept steps
Variable decimate(const Variable& x, int64_t start) {
  check_time_input(x, "decimate");
  const int64_t T = x.size(-1);
  if (!(start == 0 || start == 1))
    fail(fmt::format("decimate: start must be 0 or 1, got {} (input {})", start, x.data().describe()));
  if (!(start < T))
    fail(fmt::format("decimate: start {} leaves no step of {} (time length {})", start, x.data().describe(), T));
  return time_window("decimate", x, start, (T - start + 1) / 2, 2);
}

// y = x[..., (T − 1) mod 2 :: 2]: the newest step x[T − 1] is always kept
Variable decimate_causal(const Variable& x) {
  check_time_input(x, "decimate_causal");
  const int64_t T = x.size(-1);
  if (!(T >= 1)) fail(fmt::format("decimate_causal: the input {} has no time steps", x.data().describe()));
  const int64_t start = (T - 1) % 2;
  return time_window("decimate_causal", x, start, (T - start + 1) / 2, 2);
}

// ---- interleaving -------------------------------------------------------------------------------------------

// y[2i] = x[i], y[2i + 1] = y_in[i];  dx = dy[..., 0::2], dy_in = dy[..., 1::2]   (views)
Variable interleave(const Variable& x, const Variable& y) {
  check_time_input(x, "interleave");
  check(y.defined(), "interleave: the second input is undefined");
  const int64_t L = x.size(-1);
  bool lead_match = x.dim() == y.dim();
  for (int k = 0; lead_match && k < x.dim() - 1; ++k) lead_match = x.size(k) == y.size(k);
  if (!(lead_match && (y.size(-1) == L - 1 || y.size(-1) == L)))
    fail(fmt::format("interleave: x {} and y {} do not fit; y must have x's leading dims and time length {} (or {})",
                     x.data().describe(), y.data().describe(), L - 1, L));
  if (!(L >= 1)) fail(fmt::format("interleave: x {} has no time steps", x.data().describe()));
  if (!(x.dtype() == y.dtype()))
    fail(fmt::format("interleave: dtype mismatch, x {} vs y {}", x.data().describe(), y.data().describe()));
  Shape s = x.shape();
  s.back() = L + y.size(-1);
  one_device("interleave", x.data(), y.data());
  Tensor out = Tensor::empty(s, x.dtype(), x.data().device());
  out.slice(-1, 0, s.back(), 2).copy_(x.data());
  if (y.size(-1) > 0) out.slice(-1, 1, s.back(), 2).copy_(y.data());
  const int64_t n = s.back();
  return make_result("interleave", out, {x, y}, [n](const Tensor& g) {
    return std::vector<Tensor>{g.slice(-1, 0, n, 2), g.slice(-1, 1, n, 2)};
  });
}

// duplicate(x) = interleave(x, x[..., :−1]);  append_last: interleave(x, x). Backward through
// interleave and crop_back; autograd sums the two paths into dx.
Variable duplicate(const Variable& x, bool append_last) {
  check_time_input(x, "duplicate");
  if (!(x.size(-1) >= 1)) fail(fmt::format("duplicate: the input {} has no time steps", x.data().describe()));
  return interleave(x, append_last ? x : crop_back(x, x.size(-1) - 1));
}

// ---- layout -------------------------------------------------------------------------------------------------

// y = x with axes 1 and 2 swapped (a view);  dx = dy with them swapped back
static Variable swap_time_channels(const char* op, const char* from, const Variable& x) {
  check(x.defined(), "{}: the input is undefined", op);
  if (!(x.dim() == 3)) fail(fmt::format("{}: expected a 3-D tensor {}, got {}", op, from, x.data().describe()));
  return make_result(op, x.data().transpose(1, 2), {x},
                     [](const Tensor& g) { return std::vector<Tensor>{g.transpose(1, 2)}; });
}

Variable to_nct(const Variable& x) { return swap_time_channels("to_nct", "(N, T, C)", x); }
Variable to_ntc(const Variable& x) { return swap_time_channels("to_ntc", "(N, C, T)", x); }

}  // namespace seqnet
