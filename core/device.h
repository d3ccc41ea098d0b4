// core/device.h — where a tensor's bytes live.
//
// Every Tensor carries a Device. Today only the CPU backend exists; the CUDA backend (cuda/)
// registers its allocator and kernels behind the same Device value, so op code checks
// `x.device()` and dispatches instead of assuming host memory.
#pragma once
#include <string>

namespace seqnet {

enum class DeviceKind : unsigned char { CPU, CUDA };

struct Device {
  DeviceKind kind = DeviceKind::CPU;
  int index = 0;  // GPU ordinal for CUDA; always 0 for CPU

  static Device cpu() { return {DeviceKind::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceKind::CUDA, i}; }
  bool is_cpu() const { return kind == DeviceKind::CPU; }
  bool is_cuda() const { return kind == DeviceKind::CUDA; }
  bool operator==(const Device&) const = default;
  std::string str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

}  // namespace seqnet
