// ops/cpu/embedding.cpp — the CPU embedding kernels: a row memcpy per id, a serial scatter-add.
//
// The contract (ops/kernels/embedding.h) says what forward and backward compute.
#include <cstring>

#include "ops/cpu/cpu_backend.h"
#include "ops/dispatch.h"

namespace seqnet::cpu {

// y[k] = E[ids[k]], after checking every id is in [0, vocab)
void embedding_forward(const Tensor& ids, const Tensor& E, Tensor& y) {
  const char* op = "embedding";
  const int64_t vocab = E.size(0), dim = E.size(1);
  const int64_t* pi = ids.data<int64_t>();
  const int64_t n = ids.numel();
  for (int64_t k = 0; k < n; ++k)
    if (!(pi[k] >= 0 && pi[k] < vocab))
      fail(fmt::format("{}: id {} at position {} is out of range for a vocabulary of {} (weight {})", op, pi[k], k,
                       vocab, E.describe()));
  dispatch_float(E.dtype(), op, [&]<typename T>() {
    const T* pw = E.data<T>();
    T* py = y.data<T>();
    for (int64_t k = 0; k < n; ++k) std::memcpy(py + k * dim, pw + pi[k] * dim, size_t(dim) * sizeof(T));
  });
}

// dE[v] = Σ_{k : ids[k] = v} dy[k]
void embedding_backward(const Tensor& ids, const Tensor& dy, Tensor& dE) {
  const char* op = "embedding";
  dE.fill_(0.0);
  const int64_t dim = dE.size(1);
  dispatch_float(dy.dtype(), op, [&]<typename T>() {
    const int64_t* pi = ids.data<int64_t>();
    const T* pg = dy.data<T>();
    T* pd = dE.data<T>();
    // Serial over positions: two positions with the same id write the same row.
    for (int64_t k = 0; k < ids.numel(); ++k) {
      T* row = pd + pi[k] * dim;
      const T* gr = pg + k * dim;
      for (int64_t j = 0; j < dim; ++j) row[j] += gr[j];
    }
  });
}

EmbeddingKernels embedding_kernels() { return {.forward = embedding_forward, .backward = embedding_backward}; }

}  // namespace seqnet::cpu
