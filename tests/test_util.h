// tests/test_util.h — small helpers shared by several test files.
#pragma once
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "autograd/variable.h"
#include "core/device_api.h"
#include "core/error.h"
#include "core/tensor.h"
#include "ops/backend.h"

namespace seqnet::testing {

// Whether this build reads and writes WAV (libsndfile) and .mat (libmatio) files; tests that need
// them start with SEQNET_SKIP_WITHOUT_WAV_MAT().
constexpr bool kHaveWavMat = SEQNET_HAVE_WAV_MAT;
#define SEQNET_SKIP_WITHOUT_WAV_MAT() \
  if (!::seqnet::testing::kHaveWavMat) GTEST_SKIP() << "built with -DSEQNET_WAV_MAT=OFF (no WAV / .mat I/O)"

// The GPU tests run on test_gpu(): cuda:0 where a GPU is visible and the build has the CUDA
// backend. With SEQNET_GPU_TESTS_ON=cpu they run on the CPU instead (ctest's gpu_tests_dry_run),
// so their own code (shapes, buffers, the flows they drive) is exercised on machines without a
// GPU. A dry run compares the CPU with itself: it checks the tests, not the kernels; assertions
// about what only a GPU does (recorded steps, the persistent loop, the GPU's memory) are made only
// when gpu_is_real().
inline bool gpu_dry_run() {
  const char* e = std::getenv("SEQNET_GPU_TESTS_ON");
  return e != nullptr && std::string(e) == "cpu";
}
inline bool gpu_is_real() {
  return !gpu_dry_run() && device_available(Device::cuda(0)) && has_backend(Device::cuda(0));
}
inline bool have_test_gpu() { return gpu_dry_run() || gpu_is_real(); }
inline Device test_gpu() { return gpu_dry_run() ? Device::cpu() : Device::cuda(0); }
#define SEQNET_SKIP_WITHOUT_GPU() \
  if (!::seqnet::testing::have_test_gpu()) GTEST_SKIP() << "no GPU visible (or no CUDA backend in this build)"

// Runs `f` (any callable taking no arguments) and returns the message of the seqnet::Error it
// throws, or "<no error>" when it throws nothing; other exceptions propagate.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

// A fresh, empty folder seqnet_<tag>_<pid>_<n> under the system temp folder, removed with its
// contents when the object goes.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() / fmt::format("seqnet_{}_{}_{}", tag, ::getpid(), counter++);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // The path of `name` inside the folder.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// The whole content of a file, read as bytes ("" when it cannot be opened).
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// max |a − b| over all elements, in double; a shape mismatch fails the test and gives infinity.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  const auto av = a.to(DType::F64).contiguous().to_vector<double>();
  const auto bv = b.to(DType::F64).contiguous().to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < av.size(); ++i) m = std::max(m, std::fabs(av[i] - bv[i]));
  return m;
}

// Writes a PCM16 WAV of `frames` silent frames by hand (any rate / channel count), so tests can
// make files that read_wav_mono16k must refuse.
inline void write_silent_wav(const std::string& path, uint32_t rate, uint16_t channels, uint32_t frames) {
  std::ofstream f(path, std::ios::binary);
  auto u32 = [&](uint32_t v) { f.write(reinterpret_cast<const char*>(&v), 4); };
  auto u16 = [&](uint16_t v) { f.write(reinterpret_cast<const char*>(&v), 2); };
  const uint32_t bytes = frames * channels * 2;
  f.write("RIFF", 4), u32(36 + bytes), f.write("WAVE", 4), f.write("fmt ", 4), u32(16), u16(1), u16(channels);
  u32(rate), u32(rate * channels * 2), u16(uint16_t(channels * 2)), u16(16), f.write("data", 4), u32(bytes);
  for (uint32_t i = 0; i < frames * channels; ++i) u16(0);
}

// 0, 1, 2, … laid out in `shape` (f64), as a Variable: inputs whose values a hand test can name.
inline Variable iota(const Shape& shape, bool requires_grad = false) {
  return Variable(Tensor::arange(shape_numel(shape), DType::F64).view(shape), requires_grad);
}

// A Variable's values, row-major, as doubles (for EXPECT_EQ against a written-out vector).
inline std::vector<double> vals(const Variable& v) { return v.data().to_vector<double>(); }

}  // namespace seqnet::testing
