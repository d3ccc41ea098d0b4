// ops/kernels/reduce.h — the reduction family's kernel contract.
//
//   sum_all  out := Σ_i x_i           x contiguous, out 0-d; accumulated in double
//   sum_to   out := g summed over every dimension where out, broadcast to g's shape, is stretched
//            (the inverse of broadcasting; out contiguous, fully overwritten; g any strides)
#pragma once
#include "core/tensor.h"

namespace seqnet {

struct ReduceKernels {
  void (*sum_all)(const Tensor& x, Tensor& out);
  void (*sum_to)(const Tensor& g, Tensor& out);
};

}  // namespace seqnet
