// ops/cpu/cpu_backend.h — the CPU backend: OpenBLAS GEMMs and OpenMP loops behind ops/backend.h.
//
// Each ops/cpu/<family>.cpp defines its kernels in namespace seqnet::cpu and returns its table
// from <family>_kernels(); backend() assembles them (ops/cpu/cpu_backend.cpp).
#pragma once
#include "core/parallel.h"
#include "ops/backend.h"

namespace seqnet::cpu {

using seqnet::parallel_range, seqnet::kGrainCheap, seqnet::kGrainTranscendental;

const Backend& backend();

// The CPU gemm (ops/cpu/matmul.cpp), also called directly by the other CPU kernels (conv).
void gemm(const Tensor& A, bool trans_a, const Tensor& B, bool trans_b, Tensor& C, double alpha, double beta);

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

// Two CPU step kernels (ops/cpu/step.cpp) that the CPU-only step modes also call directly
// (models/step/step_kernels.cpp: step::affine_block, step::gated_range).
void step_affine(int64_t N, int64_t M, int64_t K, const float* X, int64_t ldx, const float* W, int64_t ldw,
                 const float* bias, float* Y, int64_t ldy, bool accumulate);
void step_gated(int64_t N, int64_t C, int64_t c0, int64_t c1, const float* fg, const float* id, int64_t ld_id,
                float* out, int64_t ld_out);

// The CPU twin of the WaveNet generation loop (ops/kernels/wavenet_loop.h) with `workers` emulated
// workers of `lanes` lanes each (the GPU: warps of 32), visited in reverse order within each stage
// when `reverse`: every choice must give bitwise the same result (StepKernels::wavenet_loop is
// this with 1 worker of 1 lane).
void wavenet_loop_emulated(const WaveNetLoop& a, int64_t s_begin, int64_t s_end, int64_t workers, bool reverse,
                           int64_t lanes);

}  // namespace seqnet::cpu
