// tests/test_op_cases.cpp — the op-case table (tests/op_cases.h) driving f64 gradchecks and
// backend-vs-CPU parity, plus a check that every op exported by ops/ops.h has a case.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "ops/backend.h"
#include "ops/conv.h"
#include "tests/op_cases.h"
#include "tests/test_util.h"

using namespace seqnet;
using namespace seqnet::testing;

TEST(OpCases, GradcheckF64) {
  for (const OpCase& c : op_cases())
    EXPECT_TRUE(gradcheck(c.op + " [" + c.label + "]", c.fn, c.inputs, c.needs_grad, c.opt));
}

// f32 on the CPU against the f64 oracle: the error is f32 rounding of the inputs, of R and of every
// intermediate. Measured worst over all cases (printed below): max|ours − ref| = 4.5e-7 · max|ref|
// (softmax over dim 0), so rtol 1e-5, atol 1e-6 holds with a 20x margin.
TEST(OpCases, ParityF32VsF64OnCpu) {
  double worst = 0;
  for (const OpCase& c : op_cases()) {
    double w = 0;
    EXPECT_TRUE(check_parity(c, Device::cpu(), DType::F32, 1e-5, 1e-6, &w));
    worst = std::max(worst, w);
  }
  std::printf("worst f32-vs-f64 error: %.3g of max|ref|\n", worst);
}

// Every case on the GPU against the CPU in f64 (forward and backward); prints the worst error of
// each op (relative to the largest |value| of the reference) for docs/cuda.md.
TEST(OpCases, ParityCuda) {
  SEQNET_SKIP_WITHOUT_GPU();
  std::map<std::string, std::pair<double, double>> worst;  // op → (f64, f32)
  for (const OpCase& c : op_cases()) {
    double w64 = 0, w32 = 0;
    EXPECT_TRUE(check_parity(c, test_gpu(), DType::F64, 1e-10, 1e-12, &w64));
    EXPECT_TRUE(check_parity(c, test_gpu(), DType::F32, 1e-5, 1e-6, &w32));
    auto& [a, b] = worst[c.op];
    a = std::max(a, w64), b = std::max(b, w32);
  }
  std::printf("%zu cases, %zu ops; worst |GPU − CPU| / max|CPU| per op (f64, f32):\n", op_cases().size(), worst.size());
  for (const auto& [op, w] : worst) std::printf("  %-24s %9.2e %9.2e\n", op.c_str(), w.first, w.second);
}

// The conv kernels straight from the backends' tables, on outputs first filled with NaN: every
// element of Y, dX, dW and db must be written (the contract: "fully overwritten"), which the op
// cases cannot show — their outputs come fresh from the allocator, often zeroed. The geometries
// take every way the CUDA kernels avoid a zero fill and every way they still need one: a causal
// dilated conv without bias (the unshifted tap runs first with beta = 0, forward and input
// gradient), a stride-2 forward whose first tap covers Y, a 1-tap conv, a conv with a bias, the
// transposed conv's bias in backward_input, no input channels (C_in = 0) and no output channels
// (C_out = 0), a weight-gradient tap that reaches no input (T = 1, K = 3), and a weight gradient of
// 1024 × 1024 × 17 samples (two chunks of per-sample products: the second adds to the first).
// GPU against CPU within 1e-5 of the largest |value| (f32), no NaN anywhere.
TEST(OpCases, ConvKernelsWriteEveryOutputElement) {
  SEQNET_SKIP_WITHOUT_GPU();
  struct Geo {
    const char* what;
    int64_t N, C_in, T, C_out, K, s, d, pf, pb;
    bool bias, input_bias;
  };
  const std::vector<Geo> geos = {
      {"causal dilated, no bias", 3, 5, 11, 4, 3, 1, 2, 4, 0, false, false},
      {"stride 2, covering first tap", 2, 3, 10, 4, 3, 2, 1, 0, 0, false, false},
      {"stride 3, padded", 2, 3, 10, 4, 2, 3, 1, 1, 1, false, false},
      {"one tap", 2, 6, 7, 3, 1, 1, 1, 0, 0, false, false},
      {"causal with bias", 2, 4, 9, 5, 2, 1, 1, 1, 0, true, true},
      {"centred, transposed bias", 2, 4, 9, 5, 3, 1, 1, 1, 1, false, true},
      {"no input channels", 2, 0, 6, 3, 2, 1, 1, 1, 0, true, false},
      {"no output channels", 2, 3, 6, 0, 2, 1, 1, 1, 0, false, false},
      {"a tap past the input", 2, 3, 1, 4, 3, 1, 1, 2, 0, false, false},
      {"two weight chunks", 17, 1024, 3, 1024, 2, 1, 1, 1, 0, false, false},
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const Geo& e : geos) {
    SCOPED_TRACE(e.what);
    ConvGeom g;
    g.N = e.N, g.C_in = e.C_in, g.T = e.T, g.C_out = e.C_out, g.K = e.K, g.s = e.s, g.d = e.d, g.pf = e.pf;
    g.T_out = conv1d_out_len(e.T, e.K, e.s, e.d, e.pf, e.pb);
    ASSERT_GT(g.T_out, 0);
    Generator gen(3);
    const Tensor X = Tensor::uniform({g.N, g.C_in, g.T}, -1, 1, DType::F32, gen);
    const Tensor W = Tensor::uniform({g.C_out, g.C_in, g.K}, -1, 1, DType::F32, gen);
    const Tensor b = Tensor::uniform({g.C_out}, -1, 1, DType::F32, gen);
    const Tensor bt = Tensor::uniform({g.C_in}, -1, 1, DType::F32, gen);  // a transposed conv's bias
    const Tensor dY = Tensor::uniform({g.N, g.C_out, g.T_out}, -1, 1, DType::F32, gen);
    // Y, dX, dW, db on device d, from NaN-filled outputs.
    const auto run = [&](Device d) {
      const ConvKernels& k = backend(d, "conv1d").conv;
      const Tensor x = X.to(d), w = W.to(d), dy = dY.to(d);
      const Tensor bias = e.bias ? b.to(d) : Tensor(), in_bias = e.input_bias ? bt.to(d) : Tensor();
      Tensor Y = Tensor::full({g.N, g.C_out, g.T_out}, nan, DType::F32, d);
      Tensor dX = Tensor::full({g.N, g.C_in, g.T}, nan, DType::F32, d);
      Tensor dW = Tensor::full({g.C_out, g.C_in, g.K}, nan, DType::F32, d);
      Tensor db = Tensor::full({g.C_out}, nan, DType::F32, d);
      const Tensor wp = k.prepare_weight(w, g);
      k.forward(x, wp, bias, Y, g);
      k.backward_input(dy, wp, in_bias, dX, g);
      k.backward_weight(dy, x, dW, g);
      k.bias_grad(dy, db);
      return std::vector<Tensor>{Y.to(Device::cpu()), dX.to(Device::cpu()), dW.to(Device::cpu()), db.to(Device::cpu())};
    };
    const std::vector<Tensor> cpu = run(Device::cpu()), gpu = run(test_gpu());
    const char* names[] = {"Y", "dX", "dW", "db"};
    for (size_t i = 0; i < cpu.size(); ++i) {
      const std::vector<float> c = cpu[i].to_vector<float>(), q = gpu[i].to_vector<float>();
      double scale = 0, diff = 0;
      for (size_t j = 0; j < c.size(); ++j) {
        ASSERT_FALSE(std::isnan(c[j])) << names[i] << " element " << j << " unwritten on the CPU";
        ASSERT_FALSE(std::isnan(q[j])) << names[i] << " element " << j << " unwritten on the GPU";
        scale = std::max(scale, double(std::fabs(c[j])));
        diff = std::max(diff, double(std::fabs(c[j] - q[j])));
      }
      EXPECT_LE(diff, 1e-5 * std::max(scale, 1.0)) << names[i];
    }
  }
}

// The dropout kernels straight from the tables, bit for bit against the CPU: arrays that start on
// a 16-byte boundary (the GPU moves four elements at a time) and one element past it (element by
// element), 151 elements (a partial last quad), f32 and f64, p = 0.3, slope 0 and 0.1.
TEST(OpCases, DropoutKernelsMatchTheCpuOnAnyAlignment) {
  SEQNET_SKIP_WITHOUT_GPU();
  const int64_t n = 4 * 37 + 3;
  for (const DType dt : {DType::F32, DType::F64})
    for (const int64_t off : {0, 1}) {
      SCOPED_TRACE(fmt::format("{}, offset {}", dtype_name(dt), off));
      Generator gen(8);
      const Tensor x = Tensor::uniform({n + 1}, -1, 1, dt, gen), dy = Tensor::uniform({n + 1}, -1, 1, dt, gen);
      // Every kernel's output on device d, written into an offset view of a buffer of n + 2 sevens;
      // the whole buffers come back (the sevens around the view must stay: no overrun).
      const auto run = [&](Device d) {
        const DropoutKernels& k = backend(d, "dropout").dropout;
        const auto view = [&](const Tensor& t) { return t.to(d).clone().narrow(0, off, n); };
        std::vector<Tensor> buffers;
        const auto out = [&] {
          buffers.push_back(Tensor::full({n + 2}, 7.0, dt, d));
          return buffers.back().narrow(0, off, n);
        };
        const Tensor xv = view(x), dyv = view(dy);
        Tensor m = out(), y = out(), r0 = out(), r1 = out(), b0 = out(), b1 = out();
        k.mask(5, 100, 0.3, m);
        k.apply(5, 100, 0.3, xv, y);
        k.leaky_relu_apply(5, 100, 0.3, 0.0, xv, r0);
        k.leaky_relu_apply(5, 100, 0.3, 0.1, xv, r1);
        k.leaky_relu_backward(5, 100, 0.3, 0.0, r0, dyv, b0);
        k.leaky_relu_backward(5, 100, 0.3, 0.1, r1, dyv, b1);
        std::vector<std::vector<double>> got;
        for (const Tensor& t : buffers) got.push_back(t.to(Device::cpu()).to(DType::F64).to_vector<double>());
        return got;
      };
      const auto cpu = run(Device::cpu()), gpu = run(test_gpu());
      const char* names[] = {"mask",
                             "apply",
                             "leaky_relu_apply (0)",
                             "leaky_relu_apply (0.1)",
                             "leaky_relu_backward (0)",
                             "leaky_relu_backward (0.1)"};
      ASSERT_EQ(cpu.size(), 6u);
      for (size_t i = 0; i < cpu.size(); ++i) {
        EXPECT_EQ(gpu[i], cpu[i]) << names[i];
        for (int64_t j = 0; j < n + 2; ++j)
          if (j < off || j >= off + n) {
            EXPECT_EQ(gpu[i][size_t(j)], 7.0) << names[i] << ": element " << j << " overrun";
          }
      }
      int64_t zeros = 0;
      for (int64_t j = off; j < off + n; ++j) zeros += cpu[0][size_t(j)] == 0.0;
      EXPECT_GT(zeros, n / 6) << "p = 0.3 drops about 45 of 151";
      EXPECT_LT(zeros, n / 2);
    }
}

// Every case twice on the GPU, f32 and f64: bitwise the same outputs and gradients.
TEST(OpCases, CudaRerunsAreBitwise) {
  SEQNET_SKIP_WITHOUT_GPU();
  for (const OpCase& c : op_cases()) {
    EXPECT_TRUE(check_rerun_bitwise(c, test_gpu(), DType::F32));
    EXPECT_TRUE(check_rerun_bitwise(c, test_gpu(), DType::F64));
  }
}

// The check itself on the CPU (whose kernels are deterministic too), so it is known to pass there.
TEST(OpCases, CpuRerunsAreBitwise) {
  for (const OpCase& c : op_cases()) EXPECT_TRUE(check_rerun_bitwise(c, Device::cpu(), DType::F32));
}

namespace {
std::string read_source(const std::string& rel) {
  const char* env = std::getenv("SEQNET_SOURCE_DIR");
  const std::string path = std::string(env && *env ? env : SEQNET_SOURCE_DIR) + "/" + rel;
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << "cannot read " << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST(OpCases, EveryExportedOpHasACase) {
  // Ops: every `Variable name(` at the start of a line of the headers ops/ops.h includes.
  std::set<std::string> exported, covered;
  const std::regex include_re(R"(#include "(ops/[^"]+)\")"), op_re(R"(^Variable\s+(\w+)\s*\()");
  const std::string ops_h = read_source("ops/ops.h");
  for (std::sregex_iterator h(ops_h.begin(), ops_h.end(), include_re), end; h != end; ++h) {
    std::istringstream header(read_source((*h)[1]));
    std::smatch m;
    for (std::string line; std::getline(header, line);)
      if (std::regex_search(line, m, op_re) && m[1] != "operator") exported.insert(m[1]);
  }
  ASSERT_GE(exported.size(), 40u) << "too few ops found: is SEQNET_SOURCE_DIR right?";
  for (const OpCase& c : op_cases()) covered.insert(c.op);
  std::string missing, unknown;
  for (const std::string& op : exported)
    if (!covered.count(op)) missing += " " + op;
  for (const std::string& op : covered)
    if (!exported.count(op)) unknown += " " + op;
  EXPECT_TRUE(missing.empty()) << "exported ops with no case in tests/op_cases.cpp:" << missing;
  EXPECT_TRUE(unknown.empty()) << "cases name ops that ops/ops.h does not export:" << unknown;
}

