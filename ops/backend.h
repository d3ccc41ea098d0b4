// ops/backend.h — the kernel contract: everything a compute backend implements, family by family.
//
// An op (ops/<family>.cpp) is device-neutral: it checks its arguments, works out the geometry,
// allocates its outputs on its inputs' device, calls kernels from this table and builds the
// autograd node whose backward closure calls more kernels. It never loops over elements itself.
// A backend is one Backend value: a table of plain function pointers, one struct per op family
// (declared in ops/kernels/<family>.h next to the family's geometry struct). The CPU fills it
// from ops/cpu/ (namespace seqnet::cpu); the CUDA backend fills its own from cuda/ with kernels
// of the same names and signatures (llm.c's rule), so the CPU kernel is the oracle of the CUDA one.
//
//   const Backend& be = backend_for("conv1d", X, W, B);   // checks all on one device
//   be.conv.forward(X, W, B, Y, g);
//
// Contract granularity is the mathematical operation, not the algorithm: conv's four kernels say
// what they compute; how (per-tap GEMMs, im2col, a fused epilogue) is each backend's business.
// Kernels that draw random numbers take the Philox key and first block (Generator::reserve),
// never a Generator, so every backend reproduces the same stream.
#pragma once
#include <fmt/format.h>

#include "core/tensor.h"
#include "ops/kernels/activation.h"
#include "ops/kernels/conv.h"
#include "ops/kernels/dropout.h"
#include "ops/kernels/elementwise.h"
#include "ops/kernels/embedding.h"
#include "ops/kernels/loss.h"
#include "ops/kernels/matmul.h"
#include "ops/kernels/optim.h"
#include "ops/kernels/pool.h"
#include "ops/kernels/reduce.h"
#include "ops/kernels/resample.h"
#include "ops/kernels/step.h"
#include "ops/kernels/weight_norm.h"

namespace seqnet {

struct Backend {
  const char* name = "";  // "cpu", "cuda"
  ElementwiseKernels elementwise;
  ActivationKernels activation;
  ReduceKernels reduce;
  MatmulKernels matmul;
  ConvKernels conv;
  PoolKernels pool;
  ResampleKernels resample;
  LossKernels loss;
  EmbeddingKernels embedding;
  DropoutKernels dropout;
  WeightNormKernels weight_norm;
  OptimKernels optim;  // optimiser updates and gradient clipping (train/loop/optim.cpp)
  StepKernels step;    // the step modes of fast generation (models/step/)
};

// The one place kernels are selected by device (ops/backend.cpp). `op` names the caller in the
// error raised when `d` has no backend in this build or process.
const Backend& backend(Device d, const char* op);
bool has_backend(Device d);  // whether backend(d, ...) would return a table

// The device of the tensors an op received, after checking that every defined one lives there
// ("concat: operands on different devices: input 0 on cpu but input 2 on cuda:0"). Undefined
// tensors (an absent bias) are skipped; inputs are named by position.
template <class... More>
Device one_device(const char* op, const Tensor& first, const More&... more) {
  const Device d = first.device();
  int i = 0;
  auto same = [&](const Tensor& t) {
    ++i;
    if (t.defined() && t.device() != d)
      fail(fmt::format("{}: operands on different devices: input 0 on {} but input {} on {} (move them with .to())",
                       op, d.str(), i, t.device().str()));
  };
  (same(more), ...);
  (void)same;  // unused when the op has a single operand
  return d;
}

// one_device() and the backend of that device: what an op calls before running kernels.
template <class... More>
const Backend& backend_for(const char* op, const Tensor& first, const More&... more) {
  return backend(one_device(op, first, more...), op);
}

}  // namespace seqnet
