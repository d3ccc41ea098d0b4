#include "models/one_hot_conv.h"

#include "core/error.h"
#include "ops/ops.h"

namespace seqnet {

Variable one_hot_conv1x1(const Tensor& ids, const Variable& w, const Variable& b) {
  if (!(ids.dim() == 2 && ids.dtype() == DType::I64))
    fail(fmt::format("one_hot_conv1x1: ids must be i64 (N, T), got {}", ids.describe()));
  if (!(w.defined() && w.dim() == 3 && w.size(2) == 1))
    fail(fmt::format("one_hot_conv1x1: weight must be (C_out, C_in, 1), got {}",
                     w.defined() ? w.data().describe() : std::string("undefined")));
  const int64_t C_out = w.size(0), C_in = w.size(1);
  const Variable table = transpose(reshape(w, {C_out, C_in}), 0, 1);  // (C_in, C_out): row c = W[:, c]
  Variable y = transpose(embedding(ids.to(w.data().device()), table), 1, 2);  // (N, C_out, T), a view
  if (b.defined()) return y + reshape(b, {1, C_out, 1});
  return y;
}

}  // namespace seqnet
