// cuda/tensor_kernels.cu — fill, copy (with dtype conversion) and add over strided views: one
// thread per element of the destination, offsets from cuda/strided_index.h.
#include "cuda/context.h"
#include "cuda/strided_index.h"
#include "cuda/tensor_kernels.h"

namespace seqnet::cuda {

namespace {

template <int N>
StridedIndex<N> index_of(const char* op, const Tensor& first, const Tensor* more = nullptr) {
  if (first.dim() > kMaxDims)
    fail(fmt::format("{}: {} has {} dimensions; the CUDA tensor kernels take at most {}", op, first.describe(),
                     first.dim(), kMaxDims));
  StridedIndex<N> ix;
  ix.dims = first.dim();
  for (int d = 0; d < ix.dims; ++d) {
    ix.shape[d] = first.size(d);
    ix.strides[0][d] = first.stride(d);
    if constexpr (N > 1) ix.strides[1][d] = more->stride(d);
  }
  return coalesced(ix);
}

template <typename T>
__global__ void fill_kernel(T* p, T value, StridedIndex<1> ix, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[1];
  offsets(ix, i, off);
  p[off[0]] = value;
}

template <typename D, typename S>
__global__ void copy_kernel(D* dst, const S* src, StridedIndex<2> ix, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[2];
  offsets(ix, i, off);
  dst[off[0]] = static_cast<D>(src[off[1]]);
}

template <typename T>
__global__ void add_kernel(T* dst, const T* src, StridedIndex<2> ix, int64_t n) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  int64_t off[2];
  offsets(ix, i, off);
  dst[off[0]] += src[off[1]];
}

// f.template operator()<T>() for the tensor's element type.
template <class F>
void on_dtype(DType t, F&& f) {
  switch (t) {
    case DType::F32: f.template operator()<float>(); break;
    case DType::F64: f.template operator()<double>(); break;
    case DType::I64: f.template operator()<int64_t>(); break;
  }
}

}  // namespace

void tensor_fill(const Tensor& t, double value, cudaStream_t stream) {
  const int64_t n = t.numel();
  if (n == 0) return;
  const StridedIndex<1> ix = index_of<1>("fill_", t);
  on_dtype(t.dtype(), [&]<typename T>() {
    fill_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(t.raw_data()), T(value), ix, n);
  });
  check_launch("fill_");
}

void tensor_copy(const Tensor& dst, const Tensor& src, cudaStream_t stream) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const StridedIndex<2> ix = index_of<2>("copy_", dst, &src);
  on_dtype(dst.dtype(), [&]<typename D>() {
    on_dtype(src.dtype(), [&]<typename S>() {
      copy_kernel<D, S><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<D*>(dst.raw_data()),
                                                                 static_cast<const S*>(src.raw_data()), ix, n);
    });
  });
  check_launch("copy_");
}

void tensor_add(const Tensor& dst, const Tensor& src, cudaStream_t stream) {
  const int64_t n = dst.numel();
  if (n == 0) return;
  const StridedIndex<2> ix = index_of<2>("add_", dst, &src);
  on_dtype(dst.dtype(), [&]<typename T>() {
    add_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(static_cast<T*>(dst.raw_data()),
                                                          static_cast<const T*>(src.raw_data()), ix, n);
  });
  check_launch("add_");
}

}  // namespace seqnet::cuda
