// tests/test_op_cases.cpp — the op-case table (tests/op_cases.h) driving f64 gradchecks and
// backend-vs-CPU parity, plus a check that every op exported by ops/ops.h has a case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

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

