// tests/op_cases.h — one table of op cases (in the style of ggml's test-backend-ops).
//
// Every op exported by ops/ops.h has at least one OpCase: small f64 CPU inputs with awkward shapes
// (batch > 1, odd lengths, strides, dilation, padding, broadcasting, masks, views). The same table
// drives two checks (tests/test_op_cases.cpp):
//   1. gradcheck in f64 (analytic vs finite-difference gradients, tests/gradcheck.h);
//   2. parity: the case run on a device / dtype vs the case run on the CPU in f64 (the oracle),
//      forward outputs and the gradients of every input that needs one.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/ops.h"
#include "tests/gradcheck.h"

namespace seqnet::testing {

struct OpCase {
  std::string op;               // name of the exported op under test, e.g. "conv1d"
  std::string label;            // what is awkward about this case (shapes, parameters)
  std::vector<Tensor> inputs;   // f64 (or i64: ids, targets) CPU tensors, passed to fn as Variables
  std::vector<bool> needs_grad; // which inputs are differentiated (never the i64 ones)
  OpFn fn;                      // the op applied to the inputs; anything else it needs is captured
  GradcheckOptions opt;
};

// All cases, built once.
const std::vector<OpCase>& op_cases();

// The one way a test tensor reaches a device (and comes back: to_device(t, Device::cpu())).
Tensor to_device(const Tensor& t, Device dev);

// Runs c on the CPU in f64 (the oracle) and on `dev` in `dt` (float inputs converted with .to(dt),
// i64 inputs kept), backward with the same fixed random output gradient R, and checks the output
// and every gradient elementwise:  |ours − ref| <= rtol · max|ref| + atol.
// If worst_rel is given it receives max over all compared tensors of max|ours − ref| / max|ref|.
::testing::AssertionResult check_parity(const OpCase& c, Device dev, DType dt, double rtol, double atol,
                                        double* worst_rel = nullptr);

// Runs c twice on `dev` in `dt` with the same output gradient and checks that the outputs and
// gradients are bitwise identical (no kernel may depend on scheduling: no floating-point atomics).
::testing::AssertionResult check_rerun_bitwise(const OpCase& c, Device dev, DType dt);

}  // namespace seqnet::testing
