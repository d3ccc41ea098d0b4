// bench/kernels — the CPU's memory-bound elementwise kernels against a plain copy of as many bytes.
//
// These passes (activations, dropout, the fused activation + dropout, add + ReLU) sit between the
// GEMMs of every training step. Each reads one or two activation-sized tensors and writes one, so
// a copy of the same tensor is the speed they could reach; what they take beyond it is compute:
// drawing the Philox masks, branches, scalar code. The tensor has the size of one char_sequnet
// activation (16 × 390 × 397 floats) unless --elements says otherwise.
//
//   build/bench/kernels [--elements N] [--repeats R] [--threads N] [--json FILE]
//
// JSON (stdout, and FILE when given): per kernel the median ms per call, GB/s of the bytes it
// must move (reads + writes), and ms / copy's ms. f32, dropout p = 0.2, slope 0.01.
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "core/runtime.h"
#include "core/tensor.h"
#include "ops/backend.h"

using namespace seqnet;

namespace {

struct KernelCase {
  std::string name;
  int tensors_moved;  // tensors of N floats read or written per call
  std::function<void()> run;
};

int usage(const char* argv0) {
  fmt::print(stderr, "usage: {} [--elements N] [--repeats R] [--threads N] [--json FILE]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = int64_t(16) * 390 * 397;
  int repeats = 21;
  std::string json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--elements" && has_value) {
      n = std::max<int64_t>(1, std::atoll(argv[++i]));
    } else if (a == "--repeats" && has_value) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--threads" && has_value) {
      setenv("SEQNET_THREADS", argv[++i], 1);
    } else if (a == "--json" && has_value) {
      json = argv[++i];
    } else {
      return usage(argv[0]);
    }
  }
  try {
    init_runtime();
    Generator gen(7);
    Tensor x = Tensor::uniform({n}, -1.0, 1.0, DType::F32, gen);
    Tensor b = Tensor::uniform({n}, -1.0, 1.0, DType::F32, gen);
    Tensor dy = Tensor::uniform({n}, -1.0, 1.0, DType::F32, gen);
    Tensor y = Tensor::empty({n}, DType::F32), dx = Tensor::empty({n}, DType::F32);
    const Backend& be = backend_for("bench/kernels", x);
    const double p = 0.2, slope = 0.01;
    const uint64_t seed = 1111, first = 0;
    const std::vector<KernelCase> cases = {
        {"copy", 2, [&] { y.copy_(x); }},
        {"add", 3, [&] { y.copy_(x), y.add_(b); }},
        {"relu_forward", 2, [&] { be.activation.forward(Activation::LeakyRelu, x, y, 0.0); }},
        {"relu_backward", 3, [&] { be.activation.backward(Activation::LeakyRelu, x, dy, dx, 0.0); }},
        {"leaky_relu_forward", 2, [&] { be.activation.forward(Activation::LeakyRelu, x, y, slope); }},
        {"add_relu_forward", 3, [&] { be.activation.add_relu_forward(x, b, y); }},
        {"dropout_apply", 2, [&] { be.dropout.apply(seed, first, p, x, y); }},
        {"relu_dropout_backward", 3, [&] { be.dropout.leaky_relu_backward(seed, first, p, 0.0, x, dy, dx); }},
        {"leaky_relu_dropout_forward", 2, [&] { be.dropout.leaky_relu_apply(seed, first, p, slope, x, y); }},
        {"leaky_relu_dropout_backward", 3, [&] { be.dropout.leaky_relu_backward(seed, first, p, slope, x, dy, dx); }},
        {"tanh_forward", 2, [&] { be.activation.forward(Activation::Tanh, x, y, 0.0); }},
        {"sigmoid_forward", 2, [&] { be.activation.forward(Activation::Sigmoid, x, y, 0.0); }},
    };
    // Interleaved: one call of every kernel per round, so machine noise hits all alike.
    std::vector<std::vector<double>> times(cases.size());
    for (int r = 0; r < repeats + 2; ++r)
      for (size_t k = 0; k < cases.size(); ++k) {
        const double s = bench::median_seconds(cases[k].run, 1, 0);
        if (r >= 2) times[k].push_back(s);  // two warm-up rounds
      }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double copy_ms = median(times[0]) * 1e3;
    std::string out = fmt::format(
        "{{\n  \"bench\": \"kernels\",\n  \"threads\": {},\n  \"elements\": {},\n  \"repeats\": {},\n  \"results\": "
        "[\n",
        num_threads(), n, repeats);
    for (size_t k = 0; k < cases.size(); ++k) {
      const double ms = median(times[k]) * 1e3;
      const double gb = double(cases[k].tensors_moved) * double(n) * 4.0 / 1e9;
      out += fmt::format(
          "    {{\"kernel\": \"{}\", \"median_ms\": {:.3f}, \"gb_per_s\": {:.1f}, \"vs_copy\": {:.2f}}}{}\n",
          cases[k].name, ms, gb / (ms * 1e-3), ms / copy_ms, k + 1 < cases.size() ? "," : "");
    }
    out += "  ]\n}\n";
    fmt::print("{}", out);
    if (!json.empty()) std::ofstream(json) << out;
  } catch (const std::exception& e) {
    fmt::print(stderr, "bench/kernels: {}\n", e.what());
    return 1;
  }
  return 0;
}
