// ops/cpu/cpu_backend.cpp — the CPU's kernel table.
#include "ops/cpu/cpu_backend.h"

namespace seqnet::cpu {

const Backend& backend() {
  static const Backend b{
      .name = "cpu",
      .elementwise = elementwise_kernels(),
      .activation = activation_kernels(),
      .reduce = reduce_kernels(),
      .matmul = matmul_kernels(),
      .conv = conv_kernels(),
      .pool = pool_kernels(),
      .resample = resample_kernels(),
      .loss = loss_kernels(),
      .embedding = embedding_kernels(),
      .dropout = dropout_kernels(),
      .weight_norm = weight_norm_kernels(),
      .optim = optim_kernels(),
      .step = step_kernels(),
  };
  return b;
}

}  // namespace seqnet::cpu
