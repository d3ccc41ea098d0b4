// ops/embedding.cpp — embedding lookup; backward is a scatter-add of the output rows
// (the embedding kernels, ops/kernels/embedding.h).
#include "ops/embedding.h"

#include "ops/backend.h"
#include "ops/dispatch.h"

namespace seqnet {

// y[k] = E[ids[k]];   dE[v] = Σ_{k : ids[k] = v} dy[k]
Variable embedding(const Tensor& ids, const Variable& E) {
  const char* op = "embedding";
  check_defined(ids, op, "ids");
  check(E.defined(), "{}: weight is undefined", op);
  const Tensor& W = E.data();
  const Backend* be = &backend_for(op, ids, W);
  if (!(ids.dtype() == DType::I64))
    fail(fmt::format("{}: ids must be int64, got {} (weight {})", op, ids.describe(), W.describe()));
  if (!(W.dim() == 2 && is_floating(W.dtype())))
    fail(fmt::format("{}: weight must be a 2-D f32/f64 (vocab, dim) matrix, got {}", op, W.describe()));
  const int64_t dim = W.size(1);
  Tensor id = ids.contiguous();
  Tensor Wc = W.contiguous();
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor y = Tensor::empty(out_shape, W.dtype(), W.device());
  be->embedding.forward(id, Wc, y);  // throws for an id outside [0, vocab)

  Shape wshape = W.shape();
  return make_result(op, y, {E}, [id, wshape, be](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dE = Tensor::empty(wshape, gc.dtype(), gc.device());
    be->embedding.backward(id, gc, dE);
    return std::vector<Tensor>{dE};
  });
}

}  // namespace seqnet
