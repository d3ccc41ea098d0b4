// core/tensor_iter.h — walking several strided tensors of one shape in lock-step.
//
// for_each_strided(shape, {stridesA, stridesB, ...}, f) calls
//   f(offsets, inner_n, inner_strides)
// once per innermost row: offsets[k] is the element offset of operand k at the row start,
// the row has inner_n elements and operand k advances inner_strides[k] per element. Kernels
// write the inner loop themselves (so the compiler can vectorise it). This one helper
// serves contiguous(), copy_ with broadcasting and dtype conversion, and every elementwise op.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace seqnet {

template <size_t K, class F>
void for_each_strided(const std::vector<int64_t>& shape, const std::array<const std::vector<int64_t>*, K>& strides,
                      F&& f) {
  const int nd = int(shape.size());
  for (int64_t s : shape)
    if (s == 0) return;
  std::array<int64_t, K> off{};
  if (nd == 0) {
    std::array<int64_t, K> inner{};
    f(off, int64_t(1), inner);
    return;
  }
  std::array<int64_t, K> inner;
  for (size_t k = 0; k < K; ++k) inner[k] = (*strides[k])[size_t(nd - 1)];
  const int64_t n_inner = shape[size_t(nd - 1)];
  std::vector<int64_t> idx(size_t(nd), 0);
  while (true) {
    f(off, n_inner, inner);
    int d = nd - 2;
    for (; d >= 0; --d) {
      const size_t u = size_t(d);
      ++idx[u];
      for (size_t k = 0; k < K; ++k) off[k] += (*strides[k])[u];
      if (idx[u] < shape[u]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= (*strides[k])[u] * shape[u];
      idx[u] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace seqnet
