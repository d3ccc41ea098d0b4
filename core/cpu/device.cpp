// core/cpu/device.cpp — the CPU's DeviceApi: host memory and Tensor's strided loops.
//
// These are the loops core/tensor.cpp used to run itself; they moved behind DeviceApi so that a
// tensor on another device runs that device's twins instead (cuda/device.cpp).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/device_api.h"
#include "core/parallel.h"
#include "core/tensor.h"

namespace seqnet {

namespace {

template <typename D, typename S>
void copy_kernel(const Tensor& dst, const Tensor& src_expanded) {
  D* d = static_cast<D*>(dst.raw_data());
  const S* s = static_cast<const S*>(src_expanded.raw_data());
  for_each_strided<2>(dst.shape(), {&dst.strides(), &src_expanded.strides()},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& inc) {
                        D* dp = d + off[0];
                        const S* sp = s + off[1];
                        for (int64_t i = 0; i < n; ++i) dp[i * inc[0]] = static_cast<D>(sp[i * inc[1]]);
                      });
}

template <typename D>
void copy_from(const Tensor& dst, const Tensor& src) {
  switch (src.dtype()) {
    case DType::F32: copy_kernel<D, float>(dst, src); break;
    case DType::F64: copy_kernel<D, double>(dst, src); break;
    case DType::I64: copy_kernel<D, int64_t>(dst, src); break;
  }
}

template <typename T>
void fill_kernel(const Tensor& t, T v) {
  T* p = static_cast<T*>(t.raw_data());
  for_each_strided<1>(t.shape(), {&t.strides()},
                      [&](const std::array<int64_t, 1>& off, int64_t n, const std::array<int64_t, 1>& inc) {
                        for (int64_t i = 0; i < n; ++i) p[off[0] + i * inc[0]] = v;
                      });
}

template <typename T>
void add_kernel(const Tensor& dst, const Tensor& src) {
  T* d = static_cast<T*>(dst.raw_data());
  const T* s = static_cast<const T*>(src.raw_data());
  for_each_strided<2>(dst.shape(), {&dst.strides(), &src.strides()},
                      [&](const std::array<int64_t, 2>& off, int64_t n, const std::array<int64_t, 2>& inc) {
                        T* dp = d + off[0];
                        const T* sp = s + off[1];
                        if (inc[0] == 1 && inc[1] == 1)
                          for (int64_t i = 0; i < n; ++i) dp[i] += sp[i];
                        else
                          for (int64_t i = 0; i < n; ++i) dp[i * inc[0]] += sp[i * inc[1]];
                      });
}

template <typename T>
void add_contiguous(T* d, const T* s, int64_t n) {
  parallel_range(n, kGrainCheap, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) d[i] += s[i];
  });
}

class CpuDeviceApi final : public DeviceApi {
 public:
  Device device() const override { return Device::cpu(); }
  Allocator& allocator() override { return cpu_allocator(); }

  void memset_zero(void* p, size_t nbytes) override {
    if (nbytes) std::memset(p, 0, nbytes);
  }
  void copy_to_host(void* host_dst, const void* src, size_t nbytes) override {
    if (nbytes) std::memmove(host_dst, src, nbytes);
  }
  void copy_from_host(void* dst, const void* host_src, size_t nbytes) override {
    if (nbytes) std::memmove(dst, host_src, nbytes);
  }
  void synchronize() override {}

  void fill(const Tensor& t, double value) override {
    if (t.is_contiguous()) {  // one block: memset for +0 (all bits zero in every dtype), else fill_n
      const size_t n = size_t(t.numel());
      if (value == 0.0 && !std::signbit(value)) {
        std::memset(t.raw_data(), 0, n * dtype_size(t.dtype()));
        return;
      }
      switch (t.dtype()) {
        case DType::F32: std::fill_n(static_cast<float*>(t.raw_data()), n, float(value)); return;
        case DType::F64: std::fill_n(static_cast<double*>(t.raw_data()), n, value); return;
        case DType::I64: std::fill_n(static_cast<int64_t*>(t.raw_data()), n, int64_t(value)); return;
      }
    }
    switch (t.dtype()) {
      case DType::F32: fill_kernel(t, float(value)); break;
      case DType::F64: fill_kernel(t, double(value)); break;
      case DType::I64: fill_kernel(t, int64_t(value)); break;
    }
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    if (dst.is_contiguous() && src.is_contiguous() && dst.dtype() == src.dtype()) {
      if (dst.numel() > 0) std::memmove(dst.raw_data(), src.raw_data(), size_t(dst.numel()) * dtype_size(dst.dtype()));
      return;
    }
    switch (dst.dtype()) {
      case DType::F32: copy_from<float>(dst, src); break;
      case DType::F64: copy_from<double>(dst, src); break;
      case DType::I64: copy_from<int64_t>(dst, src); break;
    }
  }

  void add(const Tensor& dst, const Tensor& src) override {
    if (dst.is_contiguous() && src.is_contiguous() && dst.shape() == src.shape()) {  // gradient sums
      switch (dst.dtype()) {
        case DType::F32: return add_contiguous(static_cast<float*>(dst.raw_data()), static_cast<const float*>(src.raw_data()), dst.numel());
        case DType::F64: return add_contiguous(static_cast<double*>(dst.raw_data()), static_cast<const double*>(src.raw_data()), dst.numel());
        case DType::I64: break;
      }
    }
    switch (dst.dtype()) {
      case DType::F32: add_kernel<float>(dst, src); break;
      case DType::F64: add_kernel<double>(dst, src); break;
      case DType::I64: add_kernel<int64_t>(dst, src); break;
    }
  }
};

}  // namespace

DeviceApi& cpu_device_api() {
  static CpuDeviceApi* api = new CpuDeviceApi();  // never destroyed, like the allocator
  return *api;
}

}  // namespace seqnet
