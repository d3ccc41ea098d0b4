// cuda/backend.cpp — the CUDA kernel table.
#include "cuda/backend.h"

namespace seqnet::cuda {

const Backend& backend() {
  static const Backend b{
      .name = "cuda",
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

}  // namespace seqnet::cuda
