// core/tensor.h — the n-dimensional array at the bottom of seqnet.
//
// A Tensor is a *view*: (storage, shape, strides, offset, dtype). Storage is a reference-
// counted block of bytes on one Device; many tensors may share it. Element (i0, i1, ...) lives
// at storage + (offset + Σ ik·strides[k]) · dtype_size. Views (reshape of a contiguous tensor,
// transpose, permute, narrow, slice with a step, expand) only change shape/strides/offset and
// never copy; `contiguous()` copies only when the layout demands it.
//
// Tensor knows nothing about gradients: autograd/variable.h wraps it. It never touches its bytes
// directly either: allocation, zeroing, fill_, copy_ and add_ go through the DeviceApi of the
// tensor's device (core/device_api.h), so the same Tensor code serves the CPU and the GPU.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/allocator.h"
#include "core/device.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/rng.h"

namespace seqnet {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3, 5]"
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
// Broadcast two shapes NumPy-style (align trailing dims; 1 stretches). `op` names the caller in errors.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

// A block of bytes owned through the allocator of its device (device_api(device).allocator()).
class Storage {
 public:
  Storage(size_t nbytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
};

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (defined() == false)

  // ---- creation -------------------------------------------------------------------------
  static Tensor empty(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor zeros(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor ones(const Shape& shape, DType dtype = DType::F32, Device device = Device::cpu());
  static Tensor full(const Shape& shape, double value, DType dtype = DType::F32, Device device = Device::cpu());
  // The rest create on the CPU (move with .to(device)).
  static Tensor arange(int64_t n, DType dtype = DType::F32);  // 0, 1, ..., n-1
  static Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::F32,
                        Generator& gen = default_generator());
  static Tensor randn(const Shape& shape, DType dtype = DType::F32, Generator& gen = default_generator());
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);
  static Tensor scalar(double value, DType dtype = DType::F32) { return full({}, value, dtype); }

  // ---- metadata -------------------------------------------------------------------------
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int dim() const { return int(shape_.size()); }
  int64_t size(int d) const { return shape_[size_t(wrap_dim(d))]; }
  int64_t stride(int d) const { return strides_[size_t(wrap_dim(d))]; }
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::cpu(); }
  bool is_contiguous() const;
  bool shares_storage(const Tensor& o) const { return storage_ == o.storage_; }
  int wrap_dim(int d) const;  // negative dims count from the end; error if out of range
  std::string describe() const;  // "f32[2, 3, 5]"

  // ---- raw access -----------------------------------------------------------------------
  // Pointer to element (0, ..., 0) in the memory of the tensor's device (a device pointer for a
  // GPU tensor: only that device's kernels may dereference it); checks that T matches the dtype.
  template <typename T> T* data() const;
  void* raw_data() const;
  // Reading values on the host: at() needs a CPU tensor; to_vector() and item() copy from any
  // device (and wait for it).
  template <typename T> T at(std::initializer_list<int64_t> index) const;
  template <typename T> std::vector<T> to_vector() const;  // row-major copy
  double item() const;  // numel must be 1

  // ---- views (no copy) ------------------------------------------------------------------
  Tensor view(const Shape& shape) const;     // error unless the strides allow it
  Tensor reshape(const Shape& shape) const;  // view when possible, else a contiguous copy
  Tensor transpose(int a, int b) const;
  Tensor permute(const std::vector<int>& order) const;
  Tensor narrow(int dim, int64_t start, int64_t length) const;
  // Python-style x[..., start:end:step] on `dim` (step > 0; start/end clamped like Python).
  Tensor slice(int dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int dim, int64_t index) const;  // drops `dim`
  Tensor unsqueeze(int dim) const;
  Tensor squeeze(int dim) const;
  Tensor expand(const Shape& shape) const;  // broadcast view (stride 0 on stretched dims)

  // ---- copies ---------------------------------------------------------------------------
  Tensor contiguous() const;  // *this if already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;    // *this if the dtype already matches, else a converted copy
  Tensor to(Device device) const;  // *this if already there, else a copy on `device`
  // Same shape (src may be broadcastable); converts dtype; src may live on another device.
  void copy_(const Tensor& src);
  void fill_(double value);
  void add_(const Tensor& src);   // this += src (same shape); used to accumulate gradients

  std::string str(int max_per_dim = 6) const;  // printable contents

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_, strides_;
  int64_t offset_ = 0;
  DType dtype_ = DType::F32;
};

// The row-major index of the first NaN or ±inf of t (read on the host), or -1 when every value is
// finite (always -1 for i64). For refusing garbage where it enters: loaded weights, metrics.
int64_t first_non_finite(const Tensor& t);

// A fresh contiguous tensor with t's shape, dtype and device (uninitialised / zero-filled).
Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);

}  // namespace seqnet

#include "core/tensor_iter.h"
