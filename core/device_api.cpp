// core/device_api.cpp — the one place a Device becomes an implementation.
#include "core/device_api.h"

#include "core/error.h"

#if SEQNET_HAVE_CUDA
#include "cuda/cuda_info.h"
#include "cuda/device.h"
#endif

namespace seqnet {

DeviceApi& device_api(Device d) {
  if (d.is_cpu()) return cpu_device_api();
#if SEQNET_HAVE_CUDA
  return cuda::device_api(d.index);  // throws when no GPU is visible or the ordinal is too large
#else
  fail(fmt::format("device {} requested, but this build has no CUDA backend (nvcc and cuBLAS were not found when "
                   "it was configured; configure with -DSEQNET_CUDA=ON on a machine that has them)",
                   d.str()));
#endif
}

Device parse_device(const std::string& text, const std::string& what) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5 && text.size() <= 8 &&
      text.find_first_not_of("0123456789", 5) == std::string::npos)
    return Device::cuda(std::stoi(text.substr(5)));
  fail(fmt::format("{}: unknown device '{}' (expected cpu, cuda or cuda:N)", what, text.substr(0, 40)));
}

std::string device_description(Device d) {
  if (d.is_cpu()) return "the host CPU";
#if SEQNET_HAVE_CUDA
  return cuda::device_name(d.index);
#else
  return "no CUDA backend in this build";
#endif
}

bool device_available(Device d) {
  try {
    device_api(d);
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace seqnet
