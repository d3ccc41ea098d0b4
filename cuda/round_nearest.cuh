// cuda/round_nearest.cuh — unfused, round-to-nearest arithmetic for CUDA kernels.
//
// nvcc contracts a·b + c (and a·b − c, even when a·b has another use) into one FMA by default,
// which rounds once where the source expression, and the CPU twin compiled without contraction,
// round twice. Where a kernel must do the CPU loop's arithmetic operation for operation, it spells
// each step with these: the _rn intrinsics are never fused.
#pragma once

namespace seqnet::cuda {

__device__ inline float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ inline double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ inline float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ inline double sub_rn(double a, double b) { return __dsub_rn(a, b); }
__device__ inline float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ inline double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ inline float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ inline double div_rn(double a, double b) { return __ddiv_rn(a, b); }
__device__ inline float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ inline double sqrt_rn(double a) { return __dsqrt_rn(a); }

}  // namespace seqnet::cuda
