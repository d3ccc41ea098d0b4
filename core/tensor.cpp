#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <sstream>

#include "core/device_api.h"

namespace seqnet {

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

std::string shape_str(const Shape& s) { return fmt::format("[{}]", fmt::join(s, ", ")); }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (!(da == db || da == 1 || db == 1))
      fail(fmt::format("{}: shapes {} and {} cannot be broadcast together", op, shape_str(a), shape_str(b)));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

Storage::Storage(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = device_api(device).allocator().allocate(nbytes);
}

Storage::~Storage() { device_api(device_).allocator().deallocate(data_, nbytes_); }

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) check(d >= 0, "Tensor::empty: negative dimension in shape {}", shape_str(shape));
  Tensor t;
  t.storage_ = std::make_shared<Storage>(size_t(shape_numel(shape)) * dtype_size(dtype), device);
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.offset_ = 0;
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  device_api(device).memset_zero(t.raw_data(), size_t(t.numel()) * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::arange(int64_t n, DType dtype) {
  Tensor t = empty({n}, dtype);
  switch (dtype) {
    case DType::F32: for (int64_t i = 0; i < n; ++i) t.data<float>()[i] = float(i); break;
    case DType::F64: for (int64_t i = 0; i < n; ++i) t.data<double>()[i] = double(i); break;
    case DType::I64: for (int64_t i = 0; i < n; ++i) t.data<int64_t>()[i] = i; break;
  }
  return t;
}

Tensor Tensor::uniform(const Shape& shape, double lo, double hi, DType dtype, Generator& gen) {
  Tensor t = empty(shape, dtype);
  if (dtype == DType::F32) gen.uniform(t.data<float>(), t.numel(), float(lo), float(hi));
  else if (dtype == DType::F64) gen.uniform(t.data<double>(), t.numel(), lo, hi);
  else fail("Tensor::uniform: dtype must be f32 or f64, got i64");
  return t;
}

Tensor Tensor::randn(const Shape& shape, DType dtype, Generator& gen) {
  Tensor t = empty(shape, dtype);
  if (dtype == DType::F32) gen.normal(t.data<float>(), t.numel(), 0.f, 1.f);
  else if (dtype == DType::F64) gen.normal(t.data<double>(), t.numel(), 0.0, 1.0);
  else fail("Tensor::randn: dtype must be f32 or f64, got i64");
  return t;
}

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  if (!(int64_t(values.size()) == shape_numel(shape)))
    fail(fmt::format("Tensor::from_vector: {} values do not fill shape {}", values.size(), shape_str(shape)));
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor Tensor::from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor Tensor::from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor Tensor::from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);

// ---------------------------------------------------------------------------------------------
// Metadata and access
// ---------------------------------------------------------------------------------------------

bool Tensor::is_contiguous() const {
  // No elements: any strides describe the same (empty) layout, as in PyTorch. Without this, the
  // strides empty() itself gives a shape like [2, 0] ([1, 1]) were not "contiguous".
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

int Tensor::wrap_dim(int d) const {
  const int n = dim();
  if (!(d >= -n && d < n))
    fail(fmt::format("dimension {} is out of range for a tensor of shape {}", d, shape_str(shape_)));
  return d < 0 ? d + n : d;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return fmt::format("{}{}", dtype_name(dtype_), shape_str(shape_));
}

void* Tensor::raw_data() const {
  check(defined(), "raw_data: the tensor is undefined");
  return static_cast<char*>(storage_->data()) + offset_ * int64_t(dtype_size(dtype_));
}

template <typename T>
T* Tensor::data() const {
  // Called on every hot path (each op, each generated sample): build the message only on failure.
  if (!defined()) fail(fmt::format("data<{}>: the tensor is undefined", dtype_name(dtype_of<T>())));
  if (dtype_ != dtype_of<T>()) fail(fmt::format("data<{}>: the tensor holds {}", dtype_name(dtype_of<T>()), describe()));
  return static_cast<T*>(raw_data());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;

template <typename T>
T Tensor::at(std::initializer_list<int64_t> index) const {
  if (!(int(index.size()) == dim()))
    fail(fmt::format("at: {} indices given for a tensor of shape {}", index.size(), shape_str(shape_)));
  if (!(device().is_cpu()))
    fail(fmt::format("at: the tensor {} is on {}; read it with to_vector() or move it with .to(Device::cpu())",
                     describe(), device().str()));
  int64_t off = 0;
  size_t k = 0;
  for (int64_t i : index) {
    if (!(i >= 0 && i < shape_[k]))
      fail(fmt::format("at: index {} out of range for dim {} of shape {}", i, k, shape_str(shape_)));
    off += i * strides_[k++];
  }
  return data<T>()[off];
}
template float Tensor::at<float>(std::initializer_list<int64_t>) const;
template double Tensor::at<double>(std::initializer_list<int64_t>) const;
template int64_t Tensor::at<int64_t>(std::initializer_list<int64_t>) const;

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device::cpu()).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;

double Tensor::item() const {
  if (!(numel() == 1))
    fail(fmt::format("item: the tensor has {} elements ({}), expected exactly 1", numel(), describe()));
  return to_vector<double>()[0];
}

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

namespace {
// Resolve a single -1 in a requested shape.
Shape infer_shape(const Shape& req, int64_t numel, const char* op, const Shape& from) {
  Shape out = req;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      if (!(infer < 0)) fail(fmt::format("{}: only one dimension may be -1, got {}", op, shape_str(req)));
      infer = int(i);
    } else {
      if (!(out[i] >= 0)) fail(fmt::format("{}: invalid dimension {} in {}", op, out[i], shape_str(req)));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    if (!(known != 0 && numel % known == 0))
      fail(fmt::format("{}: cannot reshape {} into {}", op, shape_str(from), shape_str(req)));
    out[size_t(infer)] = numel / known;
  }
  if (!(shape_numel(out) == numel))
    fail(fmt::format("{}: cannot reshape {} ({} elements) into {}", op, shape_str(from), numel, shape_str(req)));
  return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, if possible (PyTorch's
// computeStride): contiguous chunks of old dims must map onto chunks of new dims.
bool view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape, Shape& out) {
  out.assign(new_shape.size(), 0);
  if (shape_numel(shape) == 0 || shape.empty()) {
    out = contiguous_strides(new_shape);
    return true;
  }
  int64_t view_d = int64_t(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = int64_t(shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= shape[size_t(tensor_d)];
    if (tensor_d == 0 ||
        (shape[size_t(tensor_d - 1)] != 1 && strides[size_t(tensor_d - 1)] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[size_t(view_d)] == 1)) {
        out[size_t(view_d)] = view_numel * chunk_base_stride;
        view_numel *= new_shape[size_t(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return false;
      if (tensor_d > 0) {
        chunk_base_stride = strides[size_t(tensor_d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}
}  // namespace

Tensor Tensor::view(const Shape& req) const {
  Shape s = infer_shape(req, numel(), "view", shape_);
  Shape st;
  if (!(view_strides(shape_, strides_, s, st)))
    fail(fmt::format("view: a tensor of shape {} with strides {} cannot be viewed as {}; use reshape (which copies)",
                     shape_str(shape_), shape_str(strides_), shape_str(s)));
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = st;
  return t;
}

Tensor Tensor::reshape(const Shape& req) const {
  Shape s = infer_shape(req, numel(), "reshape", shape_);
  Shape st;
  if (view_strides(shape_, strides_, s, st)) {
    Tensor t = *this;
    t.shape_ = s;
    t.strides_ = st;
    return t;
  }
  return contiguous().view(s);
}

Tensor Tensor::transpose(int a, int b) const {
  a = wrap_dim(a);
  b = wrap_dim(b);
  Tensor t = *this;
  std::swap(t.shape_[size_t(a)], t.shape_[size_t(b)]);
  std::swap(t.strides_[size_t(a)], t.strides_[size_t(b)]);
  return t;
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  if (!(int(order.size()) == dim()))
    fail(fmt::format("permute: {} axes given for a tensor of shape {}", order.size(), shape_str(shape_)));
  std::vector<bool> seen(order.size(), false);
  Tensor t = *this;
  for (size_t i = 0; i < order.size(); ++i) {
    int d = wrap_dim(order[i]);
    check(!seen[size_t(d)], "permute: axis {} repeated in the order", d);
    seen[size_t(d)] = true;
    t.shape_[i] = shape_[size_t(d)];
    t.strides_[i] = strides_[size_t(d)];
  }
  return t;
}

Tensor Tensor::narrow(int d, int64_t start, int64_t length) const {
  d = wrap_dim(d);
  if (!(start >= 0 && length >= 0 && start + length <= shape_[size_t(d)]))
    fail(fmt::format("narrow: [{}, {}) is outside dim {} of size {} (shape {})", start, start + length, d,
                     shape_[size_t(d)], shape_str(shape_)));
  Tensor t = *this;
  t.offset_ += start * strides_[size_t(d)];
  t.shape_[size_t(d)] = length;
  return t;
}

Tensor Tensor::slice(int d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d);
  check(step > 0, "slice: step must be positive, got {}", step);
  const int64_t n = shape_[size_t(d)];
  auto clamp = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clamp(start);
  end = clamp(end);
  int64_t len = end > start ? (end - start + step - 1) / step : 0;
  Tensor t = *this;
  if (len > 0) t.offset_ += start * strides_[size_t(d)];
  t.shape_[size_t(d)] = len;
  t.strides_[size_t(d)] *= step;
  return t;
}

Tensor Tensor::select(int d, int64_t index) const {
  d = wrap_dim(d);
  const int64_t n = shape_[size_t(d)];
  if (index < 0) index += n;
  if (!(index >= 0 && index < n))
    fail(fmt::format("select: index {} out of range for dim {} of shape {}", index, d, shape_str(shape_)));
  Tensor t = *this;
  t.offset_ += index * strides_[size_t(d)];
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::unsqueeze(int d) const {
  const int n = dim();
  if (!(d >= -n - 1 && d <= n)) fail(fmt::format("unsqueeze: dim {} out of range for shape {}", d, shape_str(shape_)));
  if (d < 0) d += n + 1;
  Tensor t = *this;
  int64_t st = d < n ? shape_[size_t(d)] * strides_[size_t(d)] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return t;
}

Tensor Tensor::squeeze(int d) const {
  d = wrap_dim(d);
  if (!(shape_[size_t(d)] == 1)) fail(fmt::format("squeeze: dim {} of shape {} is not 1", d, shape_str(shape_)));
  Tensor t = *this;
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::expand(const Shape& target) const {
  if (!(target.size() >= shape_.size()))
    fail(fmt::format("expand: cannot expand {} to fewer dimensions {}", shape_str(shape_), shape_str(target)));
  const size_t lead = target.size() - shape_.size();
  Tensor t = *this;
  t.shape_ = target;
  t.strides_.assign(target.size(), 0);
  for (size_t i = 0; i < shape_.size(); ++i) {
    int64_t s = shape_[i], want = target[lead + i];
    if (!(s == want || s == 1))
      fail(fmt::format("expand: cannot expand {} to {}", shape_str(shape_), shape_str(target)));
    t.strides_[lead + i] = (s == want) ? strides_[i] : 0;
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// Copies
// ---------------------------------------------------------------------------------------------

void Tensor::copy_(const Tensor& src) {
  if (!(defined() && src.defined()))
    fail(fmt::format("copy_: undefined tensor ({} <- {})", describe(), src.describe()));
  Tensor s = src.expand(shape_);  // errors with both shapes if not broadcastable
  if (numel() == 0) return;
  DeviceApi& api = device_api(device());
  if (s.device() == device()) {
    api.copy(*this, s);
    return;
  }
  // Across devices: make the source one contiguous block on its own device, move the bytes, and
  // convert (dtype, strides) on the destination device if the destination needs it.
  const Tensor block = s.contiguous();
  const size_t nbytes = size_t(numel()) * dtype_size(block.dtype_);
  const bool direct = is_contiguous() && dtype_ == block.dtype_;
  Tensor landing = direct ? *this : empty(shape_, block.dtype_, device());
  if (device().is_cpu()) {
    device_api(block.device()).copy_to_host(landing.raw_data(), block.raw_data(), nbytes);
  } else if (block.device().is_cpu()) {
    api.copy_from_host(landing.raw_data(), block.raw_data(), nbytes);
  } else {  // between two GPUs: through the host
    Tensor host = block.to(Device::cpu());
    api.copy_from_host(landing.raw_data(), host.raw_data(), nbytes);
  }
  if (!direct) api.copy(*this, landing);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t = empty(shape_, dtype, device());
  t.copy_(*this);
  return t;
}

Tensor Tensor::to(Device device) const {
  if (!(defined())) fail(fmt::format("to({}): the tensor is undefined", device.str()));
  if (device == this->device()) return *this;
  Tensor t = empty(shape_, dtype_, device);
  t.copy_(*this);
  return t;
}

int64_t first_non_finite(const Tensor& t) {
  if (!t.defined() || !is_floating(t.dtype())) return -1;
  const std::vector<double> v = t.to_vector<double>();
  for (size_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v[i])) return int64_t(i);
  return -1;
}

Tensor empty_like(const Tensor& t) { return Tensor::empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return Tensor::zeros(t.shape(), t.dtype(), t.device()); }

void Tensor::fill_(double value) {
  check(defined(), "fill_: the tensor is undefined");
  if (numel() > 0) device_api(device()).fill(*this, value);
}

void Tensor::add_(const Tensor& src) {
  if (!(shape_ == src.shape_ && dtype_ == src.dtype_))
    fail(fmt::format("add_: cannot accumulate {} into {}", src.describe(), describe()));
  if (!(device() == src.device()))
    fail(fmt::format("add_: cannot accumulate a tensor on {} into one on {}", src.device().str(), device().str()));
  if (numel() > 0) device_api(device()).add(*this, src);
}

std::string Tensor::str(int max_per_dim) const {
  if (!defined()) return "Tensor(undefined)";
  std::ostringstream os;
  os << "Tensor(" << describe() << ")";
  std::vector<double> v = to_vector<double>();
  if (v.empty()) return os.str();
  // Print the last dimension as rows; elide long rows.
  const int64_t row = dim() == 0 ? 1 : shape_.back();
  const int64_t rows = row == 0 ? 0 : int64_t(v.size()) / row;
  os << "\n";
  for (int64_t r = 0; r < rows; ++r) {
    if (r == max_per_dim && rows > 2 * max_per_dim) {
      os << "  ...\n";
      r = rows - max_per_dim;
    }
    os << "  [";
    for (int64_t c = 0; c < row; ++c) {
      if (c == max_per_dim && row > 2 * max_per_dim) {
        os << " ...";
        c = row - max_per_dim;
      }
      os << (c ? ", " : "") << fmt::format("{:.6g}", v[size_t(r * row + c)]);
    }
    os << "]\n";
  }
  return os.str();
}

}  // namespace seqnet
