// cuda/backend.h — the CUDA backend: one table of kernels behind ops/backend.h, filled from
// cuda/ops/<family>.{cu,cpp} with kernels of the same names and signatures as the CPU's
// (ops/cpu/cpu_backend.h): seqnet::cpu::conv_forward and seqnet::cuda::conv_forward compute the
// same thing, and the CPU one is the oracle (tests/op_cases.cpp: OpCases.ParityCuda).
//
// Every kernel runs on the stream of its tensors' GPU (cuda/context.h); none waits for the GPU
// except where the contract returns a value to the host (cross_entropy_forward's count,
// sum_squares). Accumulating backward kernels gather instead of scattering with atomics, so a
// rerun is bitwise identical.
#pragma once
#include "ops/backend.h"

namespace seqnet::cuda {

const Backend& backend();

// The cuBLAS gemm on strided views (cuda/ops/matmul.cpp), also used by the conv kernels.
void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta);
// The same product for `batch` equally spaced matrices: A, B and C are the views of item 0, and
// item i's are those views shifted by i·sa, i·sb, i·sc elements (sa = 0: one A for every item).
// One cuBLAS strided-batched call. Returns false, having done nothing, where A or B has no unit
// stride (it would need a copy, which has no batch stride) or the inner dimension is 0: the
// caller then loops over gemm.
bool gemm_strided_batched(const Tensor& A, int64_t sa, bool trans_a, const Tensor& B, int64_t sb, bool trans_b,
                          Tensor& C, int64_t sc, int64_t batch, double alpha, double beta);

ElementwiseKernels elementwise_kernels();
ActivationKernels activation_kernels();
ReduceKernels reduce_kernels();
MatmulKernels matmul_kernels();
ConvKernels conv_kernels();
PoolKernels pool_kernels();
ResampleKernels resample_kernels();
LossKernels loss_kernels();
EmbeddingKernels embedding_kernels();
DropoutKernels dropout_kernels();
WeightNormKernels weight_norm_kernels();
OptimKernels optim_kernels();
StepKernels step_kernels();

}  // namespace seqnet::cuda
