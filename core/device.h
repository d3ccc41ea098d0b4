// core/device.h — where a tensor's bytes live.
//
// Every Tensor carries a Device. What a device provides is core/device_api.h; which kernels run
// on it is ops/backend.h (docs/architecture.md, "The seam").
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

// "cpu", "cuda" (= cuda:0) or "cuda:N"; anything else is an Error naming `what` (a flag) and the
// accepted forms. It does not check that the device exists: using it does (core/device_api.h).
Device parse_device(const std::string& text, const std::string& what);

}  // namespace seqnet
