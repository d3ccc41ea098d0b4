// train/cli/verify.h — `seqnet verify PARAMS DATA`: check a model against PyTorch reference data.
//
// Reads the config stored in PARAMS (official class or task wrapper + constructor arguments),
// builds that model, loads the weights (strict: missing / unexpected / mismatched keys are
// errors), runs the forward in eval mode and the backward of the file's objective
// (sum(output · R) for backbones; the task loss for the task files), and compares the output,
// the input gradient and every parameter gradient with the stored tensors.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"

namespace seqnet {

struct VerifyRow {
  std::string tensor;
  double max_abs = 0, max_rel = 0;  // max |ours − ref|, max |ours − ref| / |ref| over |ref| > 1e-3·max|ref|
  double worst = 0;                  // max |ours − ref| / (atol + rtol·|ref|): ≤ 1 passes
  bool ok = false;
  std::string note;
};

struct VerifyResult {
  std::string model;  // description
  std::vector<VerifyRow> rows;
  bool passed = false;
  bool not_applicable = false;  // e.g. generation files before step modes exist
  std::string message;
};

struct VerifyOptions {
  DType dtype = DType::F32;
  Device device = Device::cpu();  // where the model runs; the references are compared on the host
  double rtol = -1, atol = -1;  // < 0: defaults for the dtype (f32 1e-5 / 1e-6, f64 1e-6 / 1e-8)
};

VerifyResult verify_reference(const std::string& params_path, const std::string& data_path, const VerifyOptions& opt);
void print_verify(std::FILE* out, const VerifyResult& r, const VerifyOptions& opt);

}  // namespace seqnet
