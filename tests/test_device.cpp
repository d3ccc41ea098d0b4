// tests/test_device.cpp — the device seam: where a tensor's bytes live and how they move.
//
// On a machine without a GPU (or a build without the CUDA backend) asking for a CUDA tensor must
// fail with an error that says which of the two it is; the GPU tests skip with a message.
#include <gtest/gtest.h>

#include "core/device_api.h"
#include "cuda/strided_index.h"
#include "ops/ops.h"
#include "tests/gradcheck.h"
#include "tests/test_util.h"

#if SEQNET_HAVE_CUDA
#include "cuda/cuda_info.h"
#endif

namespace seqnet {
namespace {

using testing::error_of;
using testing::rand64;

bool have_gpu() { return device_available(Device::cuda(0)); }

std::vector<double> kernels_free_twice(const Tensor& x) {
  std::vector<double> v = x.to_vector<double>();
  for (double& e : v) e += e;
  return v;
}

TEST(Device, CudaTensorWithoutAGpuSaysWhy) {
  if (have_gpu()) GTEST_SKIP() << "a GPU is visible: this test is for machines without one";
  const std::string msg = error_of([] { Tensor::empty({2, 3}, DType::F32, Device::cuda(0)); });
  EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
#if SEQNET_HAVE_CUDA
  EXPECT_NE(msg.find("no GPU is visible"), std::string::npos) << msg;
#else
  EXPECT_NE(msg.find("no CUDA backend"), std::string::npos) << msg;
#endif
  // Every way of asking says the same.
  EXPECT_EQ(error_of([] { Tensor::zeros({4}, DType::F64, Device::cuda(0)); }), error_of([] {
              Tensor::empty({4}, DType::F64, Device::cuda(0));
            }));
  EXPECT_NE(error_of([] { Tensor::ones({3}).to(Device::cuda(0)); }).find("cuda:0"), std::string::npos);
  EXPECT_FALSE(device_available(Device::cuda(0)));
  EXPECT_TRUE(device_available(Device::cpu()));
}

TEST(Device, OrdinalOutOfRangeIsRefused) {
#if SEQNET_HAVE_CUDA
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  const int n = cuda::device_count();
  const std::string msg = error_of([n] { Tensor::empty({1}, DType::F32, Device::cuda(n)); });
  EXPECT_NE(msg.find("only " + std::to_string(n) + " GPU"), std::string::npos) << msg;
#else
  GTEST_SKIP() << "built without the CUDA backend";
#endif
}

TEST(Device, ParseDeviceNamesTheFlag) {
  EXPECT_EQ(parse_device("cpu", "--device"), Device::cpu());
  EXPECT_EQ(parse_device("cuda", "--device"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3", "--device"), Device::cuda(3));
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:123456789", "CPU", ""}) {
    const std::string msg = error_of([&] { parse_device(bad, "--device"); });
    EXPECT_NE(msg.find("--device"), std::string::npos) << bad << ": " << msg;
    EXPECT_NE(msg.find("cuda:N"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(Device, ToSameDeviceIsTheSameTensor) {
  Tensor x = rand64({2, 3}, 1);
  Tensor y = x.to(Device::cpu());
  EXPECT_TRUE(y.shares_storage(x));
  EXPECT_EQ(y.shape(), x.shape());
}

TEST(Device, LikeHelpersKeepShapeDtypeDevice) {
  Tensor x = rand64({3, 4}, 2).transpose(0, 1);  // a strided view
  Tensor e = empty_like(x), z = zeros_like(x);
  EXPECT_EQ(e.shape(), x.shape());
  EXPECT_EQ(e.dtype(), DType::F64);
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_EQ(z.device(), Device::cpu());
  for (double v : z.to_vector<double>()) EXPECT_EQ(v, 0.0);
}

TEST(Device, CpuApiCopiesStridedAndConverts) {
  // copy_ between views with dtype conversion goes through DeviceApi::copy.
  Tensor src = Tensor::arange(12, DType::F64).view({3, 4});
  Tensor dst = Tensor::zeros({4, 3}, DType::F32);
  dst.copy_(src.transpose(0, 1));
  EXPECT_EQ(dst.at<float>({3, 2}), 11.0f);
  EXPECT_EQ(dst.at<float>({1, 0}), 1.0f);
  Tensor acc = Tensor::ones({4, 3}, DType::F32);
  acc.add_(dst);
  EXPECT_EQ(acc.at<float>({3, 2}), 12.0f);
  acc.narrow(0, 1, 2).fill_(-1.0);
  EXPECT_EQ(acc.at<float>({0, 0}), 1.0f);
  EXPECT_EQ(acc.at<float>({2, 1}), -1.0f);
}

// The CUDA tensor kernels give each thread one row-major index of the destination and compute
// each operand's offset with cuda::offsets(); sweep it here over whole "launch grids" of awkward
// views and compare with what Tensor's own (CPU) indexing reads.
TEST(Device, CudaStridedIndexMatchesTensorIndexing) {
  const Tensor base = Tensor::arange(2 * 3 * 4 * 5, DType::F64).view({2, 3, 4, 5});
  const std::vector<Tensor> views{
      base,
      base.permute({3, 1, 0, 2}),
      base.slice(3, 1, 5, 2).transpose(0, 2),
      base.select(1, 2).narrow(2, 1, 3),
      base.select(0, 1).select(0, 2).select(0, 3).unsqueeze(0).expand({3, 5}),  // stride 0
      base.slice(2, 3, 4).squeeze(2),
      base.narrow(3, 2, 3),                                                    // a time crop: rows merge
      base.view({6, 4, 5}).narrow(0, 1, 2).unsqueeze(1).expand({2, 3, 4, 5}),  // stride 0 between merging axes
  };
  const double* p = base.data<double>();
  for (const Tensor& v : views) {
    const Tensor other = base.narrow(0, 0, 1).expand(base.shape()).reshape({-1}).narrow(0, 0, v.numel()).view(v.shape());
    cuda::StridedIndex<2> ix;
    ix.dims = v.dim();
    for (int d = 0; d < v.dim(); ++d) {
      ix.shape[d] = v.size(d);
      ix.strides[0][d] = v.stride(d);
      ix.strides[1][d] = other.stride(d);
    }
    const std::vector<double> want = v.contiguous().to_vector<double>(), want_other = other.contiguous().to_vector<double>();
    const cuda::StridedIndex<2> merged = cuda::coalesced(ix);  // what the launchers pass
    EXPECT_LE(merged.dims, ix.dims);
    for (int64_t i = 0; i < v.numel(); ++i) {
      int64_t off[2], moff[2];
      cuda::offsets(ix, i, off);
      ASSERT_EQ(p[v.offset() + off[0]], want[size_t(i)]) << v.describe() << " strides " << shape_str(v.strides()) << " i " << i;
      ASSERT_EQ(other.data<double>()[off[1]], want_other[size_t(i)]) << "second operand, i " << i;
      cuda::offsets(merged, i, moff);
      ASSERT_EQ(moff[0], off[0]) << "coalesced, " << v.describe() << " strides " << shape_str(v.strides()) << " i "
                                 << i;
      ASSERT_EQ(moff[1], off[1]) << "coalesced, second operand, i " << i;
    }
  }
}

// Coalescing merges what steps as one dimension and keeps what does not.
TEST(Device, CudaStridedIndexCoalesces) {
  auto index_of = [](const Tensor& a, const Tensor& b) {
    cuda::StridedIndex<2> ix;
    ix.dims = a.dim();
    for (int d = 0; d < a.dim(); ++d)
      ix.shape[d] = a.size(d), ix.strides[0][d] = a.stride(d), ix.strides[1][d] = b.stride(d);
    return cuda::coalesced(ix);
  };
  const Tensor x = Tensor::zeros({4, 6, 10}, DType::F64);
  EXPECT_EQ(index_of(x, x).dims, 1);                                  // contiguous: one run
  EXPECT_EQ(index_of(x.narrow(2, 3, 7), x.narrow(2, 0, 7)).dims, 2);  // time-cropped (N, C, T): rows × T
  EXPECT_EQ(index_of(x.transpose(1, 2), x.transpose(1, 2)).dims, 3);  // transposed: nothing merges
  const Tensor bias = Tensor::zeros({6}, DType::F64).view({1, 6, 1}).expand({4, 6, 10});
  EXPECT_EQ(index_of(x, bias).dims, 3);                               // a broadcast bias keeps its axes
  EXPECT_EQ(index_of(x.narrow(0, 1, 1), x.narrow(0, 2, 1)).dims, 1);  // a size-1 axis is dropped
  const Tensor one = Tensor::zeros({1, 1}, DType::F64);
  const cuda::StridedIndex<2> none = index_of(one, one);
  EXPECT_EQ(none.dims, 0);
  int64_t off[2];
  cuda::offsets(none, 0, off);
  EXPECT_EQ(off[0], 0);
  EXPECT_EQ(off[1], 0);
}

// ---- with a GPU ---------------------------------------------------------------------------------

TEST(DeviceGpu, RoundTripKeepsEveryBit) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Tensor x = rand64({5, 7}, 3);
  Tensor back = x.to(Device::cuda(0)).to(Device::cpu());
  EXPECT_EQ(back.to_vector<double>(), x.to_vector<double>());
  Tensor z = Tensor::zeros({3}, DType::F32, Device::cuda(0));
  EXPECT_EQ(z.to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(Tensor::ones({1}).to(Device::cuda(0)).item(), 1.0);
}

TEST(DeviceGpu, StridedKernelsMatchTheCpu) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  const Tensor x = rand64({4, 6, 5}, 8);
  const Device gpu = Device::cuda(0);
  // copy_ of a permuted view with conversion, fill_ of a slice, add_ of a transposed view.
  Tensor a = Tensor::zeros({5, 4, 6}, DType::F32, gpu);
  a.copy_(x.to(gpu).permute({2, 0, 1}));
  EXPECT_EQ(a.to_vector<float>(), x.permute({2, 0, 1}).to(DType::F32).contiguous().to_vector<float>());
  Tensor b = x.to(gpu).clone();
  b.slice(2, 1, 5, 2).fill_(-3.0);
  Tensor b_cpu = x.clone();
  b_cpu.slice(2, 1, 5, 2).fill_(-3.0);
  EXPECT_EQ(b.to_vector<double>(), b_cpu.to_vector<double>());
  Tensor c = x.to(gpu).clone();
  c.add_(x.to(gpu).transpose(0, 2).contiguous().transpose(0, 2));
  EXPECT_EQ(c.to_vector<double>(), kernels_free_twice(x));
}

TEST(DeviceGpu, OpsRefuseOperandsOnTwoDevices) {
  if (!have_gpu()) GTEST_SKIP() << "no GPU visible";
  Variable a(rand64({2, 3}, 4)), b(rand64({2, 3}, 5).to(Device::cuda(0)));
  const std::string msg = error_of([&] { add(a, b); });
  EXPECT_NE(msg.find("add"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cpu"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
  Variable x(rand64({1, 2, 5}, 6)), w(rand64({3, 2, 2}, 7).to(Device::cuda(0)));
  const std::string conv_msg = error_of([&] { conv1d(x, w); });
  EXPECT_NE(conv_msg.find("conv1d"), std::string::npos) << conv_msg;
  EXPECT_NE(conv_msg.find("cuda:0"), std::string::npos) << conv_msg;
}

}  // namespace
}  // namespace seqnet
