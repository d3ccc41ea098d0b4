#include "models/one_hot_conv.h"

#include "core/error.h"
#include "ops/ops.h"

namespace seqnet {

Variable one_hot_conv1d(const Tensor& ids, const Variable& w, const Variable& b) {
  if (!(ids.dim() == 2 && ids.dtype() == DType::I64))
    fail(fmt::format("one_hot_conv1d: ids must be i64 (N, T), got {}", ids.describe()));
  if (!(w.defined() && w.dim() == 3 && w.size(2) >= 1))
    fail(fmt::format("one_hot_conv1d: weight must be (C_out, C_in, K), got {}",
                     w.defined() ? w.data().describe() : std::string("undefined")));
  const int64_t C_out = w.size(0), C_in = w.size(1), K = w.size(2), T = ids.size(1);
  if (!(T >= K))
    fail(fmt::format("one_hot_conv1d: {} ids are shorter than the kernel of {} taps (weight {})", ids.describe(), K,
                     w.data().describe()));
  const int64_t T_out = T - K + 1;
  const Tensor on_device = ids.to(w.data().device());
  Variable y;  // (N, T_out, C_out): Σ over the taps of the lookups
  for (int64_t m = 0; m < K; ++m) {
    // Tap m's table (C_in, C_out): row c = W[:, c, m].
    const Variable table = transpose(reshape(narrow(w, 2, m, 1), {C_out, C_in}), 0, 1);
    const Variable e = embedding(on_device.narrow(1, m, T_out), table);
    y = m == 0 ? e : y + e;
  }
  y = transpose(y, 1, 2);  // (N, C_out, T_out), a view
  if (b.defined()) return y + reshape(b, {1, C_out, 1});
  return y;
}

}  // namespace seqnet
