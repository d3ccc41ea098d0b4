// ops/backend.cpp — the one place an op's kernels are selected by device.
#include "ops/backend.h"

#include "core/device_api.h"
#include "ops/cpu/cpu_backend.h"

#if SEQNET_HAVE_CUDA
#include "cuda/backend.h"
#endif

namespace seqnet {

const Backend& backend(Device d, const char* op) {
  if (d.is_cpu()) return cpu::backend();
#if SEQNET_HAVE_CUDA
  if (d.is_cuda()) return cuda::backend();
#endif
  // Unreachable in practice: a tensor cannot exist on a device this build cannot use
  // (core/device_api.cpp refuses to create it).
  fail(fmt::format("{}: no kernels for {} in this build", op, d.str()));
}

bool has_backend(Device d) {
#if SEQNET_HAVE_CUDA
  if (d.is_cuda()) return true;
#endif
  return d.is_cpu();
}

}  // namespace seqnet
