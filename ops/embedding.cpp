// ops/embedding.cpp — embedding lookup; backward is a scatter-add of the output rows.
#include "ops/embedding.h"

#include <cstring>

#include "ops/dispatch.h"

namespace seqnet {

// y[k] = E[ids[k]];   dE[v] = Σ_{k : ids[k] = v} dy[k]
Variable embedding(const Tensor& ids, const Variable& E) {
  const char* op = "embedding";
  check_defined(ids, op, "ids");
  check(E.defined(), "{}: weight is undefined", op);
  const Tensor& W = E.data();
  check_cpu(W, op);
  check(ids.dtype() == DType::I64, "{}: ids must be int64, got {} (weight {})", op, ids.describe(), W.describe());
  check(W.dim() == 2 && is_floating(W.dtype()), "{}: weight must be a 2-D f32/f64 (vocab, dim) matrix, got {}", op,
        W.describe());
  const int64_t vocab = W.size(0), dim = W.size(1);
  Tensor id = ids.contiguous();
  const int64_t* pi = id.data<int64_t>();
  const int64_t n = id.numel();
  for (int64_t k = 0; k < n; ++k)
    check(pi[k] >= 0 && pi[k] < vocab, "{}: id {} at position {} is out of range for a vocabulary of {} (weight {})",
          op, pi[k], k, vocab, W.describe());

  Tensor Wc = W.contiguous();
  Shape out_shape = ids.shape();
  out_shape.push_back(dim);
  Tensor y = Tensor::empty(out_shape, W.dtype());
  dispatch_float(W.dtype(), op, [&]<typename T>() {
    const T* pw = Wc.data<T>();
    T* py = y.data<T>();
    for (int64_t k = 0; k < n; ++k) std::memcpy(py + k * dim, pw + pi[k] * dim, size_t(dim) * sizeof(T));
  });

  Shape wshape = W.shape();
  return make_result(op, y, {E}, [id, wshape, op](const Tensor& g) {
    Tensor gc = g.contiguous();
    Tensor dE = Tensor::zeros(wshape, gc.dtype());
    const int64_t dim = wshape[1];
    dispatch_float(gc.dtype(), op, [&]<typename T>() {
      const int64_t* pi = id.data<int64_t>();
      const T* pg = gc.data<T>();
      T* pd = dE.data<T>();
      // Serial over positions: two positions with the same id write the same row.
      for (int64_t k = 0; k < id.numel(); ++k) {
        T* row = pd + pi[k] * dim;
        const T* gr = pg + k * dim;
        for (int64_t j = 0; j < dim; ++j) row[j] += gr[j];
      }
    });
    return std::vector<Tensor>{dE};
  });
}

}  // namespace seqnet
