// ops/backend.cpp — the one place an op's kernels are selected by device.
#include "ops/backend.h"

#include "ops/cpu/cpu_backend.h"

namespace seqnet {

const Backend& backend(Device d, const char* op) {
  if (d.is_cpu()) return cpu::backend();
  // Creating a tensor on a device that cannot be used already fails (core/device_api.cpp); a
  // tensor that exists on a GPU reaches this line until the CUDA backend registers its kernels.
  fail(fmt::format("{}: no kernels for {} in this build yet (the CUDA backend holds memory and copies only)", op,
                   d.str()));
}

bool has_backend(Device d) { return d.is_cpu(); }

}  // namespace seqnet
